"""What the addons' demo data (their data/demo.py) share."""
import secrets

from sqlalchemy import select

from core.models import Group, User


def demo_users(session, people):
    """The demo's users of ``people``, [(username, full name, group code or None)], in
    that order. Addons' demos name the same people (the salespeople of the Customers demo
    also work in Sales, Service...): a user is made only when missing, with a password
    nobody knows (an administrator sets one), and joins the group when it exists."""
    codes = {code for _username, _name, code in people if code}
    groups = {group.code: group for group in session.scalars(
        select(Group).where(Group.code.in_(codes)))}
    found = {user.username: user for user in session.scalars(
        select(User).where(User.username.in_([username for username, _n, _c in people])))}
    users = []
    for username, full_name, code in people:
        user = found.get(username)
        if user is None:
            user = User(username=username, full_name=full_name,
                        email=f"{username}@example.com")
            user.set_password(secrets.token_urlsafe(24))
            session.add(user)
        group = groups.get(code)
        if group is not None and group not in user.groups:
            user.groups.append(group)
        users.append(user)
    session.flush()
    return users
