"""Who may do what. Access letters: r read, w write, c create, d delete, x export.

Groups and their letters per model are declared in the manifests of the enabled addons;
members of the built-in Administrator group may do everything.
"""
from flask import current_app


def merge_access(manifests):
    """{group code: {model name: letters}} over several manifests, letters united."""
    merged = {}
    for manifest in manifests:
        for group, models in manifest["access"].items():
            for model, letters in models.items():
                known = merged.setdefault(group, {}).get(model, "")
                merged[group][model] = "".join(sorted(set(known) | set(letters)))
    return merged


def permits(user, model_name, letter):
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_admin:
        return True
    access = current_app.extensions["crm"].access
    return any(letter in access.get(group.code, {}).get(model_name, "")
               for group in user.groups)
