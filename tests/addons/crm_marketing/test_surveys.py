"""Market surveys (crm_marketing.surveys): answered on a public page reached by a signed
link (every kind of question, CSRF, required questions, the visitor's language), one
response per person (answering again replaces), closed surveys, the campaign's
response, the results panel, and surveys made on their form with their questions."""
import html
import re
from datetime import date, timedelta
from urllib.parse import urlsplit

from addons.crm_marketing.models import Campaign
from addons.crm_marketing.surveys import Survey, SurveyQuestion, serializer, survey_link
from core.db import db
from tests.addons.crm_marketing.marketing_helpers import app_of, customers_with_contacts, user

KINDS = ("choice", "several choices", "text", "rating")
ANSWERS = {"choice": "Price", "several choices": ["Phone", "Website"],
           "text": "Faster delivery, please.", "rating": "4"}


def new_survey(suite, campaign=True, required=("choice", "rating"), **fields):
    """A survey with one question of each kind (in KINDS' order), perhaps of a
    campaign; returns (survey id, {kind: field name})."""
    with app_of(suite):
        fields = {"name": "2026 customer survey", **fields}
        survey = Survey(introduction="Five minutes of your time.",
                        thanks="We read every answer.", **fields)
        if campaign:
            survey.campaign = Campaign(name="Spring fair")
        options = {"choice": "Price\nQuality\nService", "several choices": "Phone\nWebsite\nShop"}
        survey.questions = [
            SurveyQuestion(sequence=number, text=f"Question about {kind}", kind=kind,
                           options=options.get(kind), required=kind in required)
            for number, kind in enumerate(KINDS, start=1)]
        db.session.add(survey)
        db.session.commit()
        return survey.id, {question.kind: f"q{question.id}" for question in survey.questions}


def path_of(suite, survey_id, customer_id=None, contact_id=None, email=""):
    with app_of(suite):
        link = survey_link(survey_id, customer_id, contact_id, email)
    assert link.startswith("http")
    return urlsplit(link).path


def answers_form(fields, **answers):
    """The form's data for ``answers`` by kind (ANSWERS by default)."""
    chosen = {**ANSWERS, **answers}
    return {fields[kind]: value for kind, value in chosen.items() if value is not None}


def post_answers(client, path, fields, **answers):
    data = answers_form(fields, **answers)
    data["csrf_token"] = client.csrf_token(path)
    return client.post(path, data=data)


def page_text(response):
    text = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(text).split())


def stored(suite):
    """The answers stored: (response id, question kind, text, rating), in order."""
    return suite.sql("SELECT a.response_id, q.kind, a.value, a.rating FROM mkt_survey_answer a "
                     "JOIN mkt_survey_question q ON q.id = a.question_id "
                     "ORDER BY a.response_id, q.sequence, a.id")


def field_block(response, name):
    """The HTML of one question of the public form."""
    match = re.search(rf'(?s)<fieldset[^>]*data-field="{name}".*?</fieldset>',
                      response.get_data(as_text=True))
    assert match, name
    return match.group(0)


def test_every_kind_answered_by_a_signed_link_with_the_campaigns_response(marketing_suite):
    suite = marketing_suite
    survey_id, fields = new_survey(suite)
    customer = customers_with_contacts(suite, 1)[0]
    contact = suite.sql("SELECT id FROM crm_contact WHERE customer_id = :c", c=customer)[0][0]
    path = path_of(suite, survey_id, customer, contact, "person0@example.com")
    visitor = suite.client()
    shown = visitor.get(path + "?lang=en")
    text = page_text(shown)
    assert shown.status_code == 200 and "2026 customer survey" in text
    assert "Five minutes of your time." in text and "Send my answers" in text
    for kind in KINDS:
        assert f"Question about {kind}" in text
    assert 'type="radio"' in field_block(shown, fields["choice"])
    assert 'type="checkbox"' in field_block(shown, fields["several choices"])
    assert "<textarea" in field_block(shown, fields["text"])
    assert field_block(shown, fields["rating"]).count('type="radio"') == 5
    assert "navbar" not in shown.get_data(as_text=True)       # nothing of the admin
    # Opening the link writes nothing.
    assert suite.sql("SELECT count(*) FROM mkt_survey_response") == [(0,)]

    done = post_answers(visitor, path, fields)
    assert done.status_code == 200, page_text(done)[:2000]
    assert "your answers have been received" in page_text(done)
    assert "We read every answer." in page_text(done)
    assert "replace" not in page_text(done)
    assert suite.sql("SELECT survey_id, customer_id, contact_id, email FROM "
                     "mkt_survey_response") == [(survey_id, customer, contact,
                                                 "person0@example.com")]
    response_id = suite.sql("SELECT id FROM mkt_survey_response")[0][0]
    assert stored(suite) == [
        (response_id, "choice", "Price", None),
        (response_id, "several choices", "Phone", None),
        (response_id, "several choices", "Website", None),
        (response_id, "text", "Faster delivery, please.", None),
        (response_id, "rating", None, 4)]
    campaign = suite.sql("SELECT campaign_id FROM mkt_survey")[0][0]
    assert suite.sql("SELECT campaign_id, kind, customer_id, contact_id, name, email "
                     "FROM mkt_response") == [(campaign, "survey answer", customer, contact,
                                               "Person 0", "person0@example.com")]
    # The language asked for is kept for the visitor's next pages.
    chinese = suite.client()
    assert 'lang="zh-CN"' in chinese.get(path + "?lang=zh").get_data(as_text=True)
    assert 'lang="zh-CN"' in chinese.get(path).get_data(as_text=True)
    assert 'lang="en"' in chinese.get(path + "?lang=en").get_data(as_text=True)


def test_a_forged_or_foreign_token_is_not_found(marketing_suite):
    suite = marketing_suite
    survey_id, _fields = new_survey(suite, campaign=False)
    path = path_of(suite, survey_id, email="a@example.com")
    visitor = suite.client()
    assert visitor.get(path).status_code == 200
    token = path.rsplit("/", 1)[1]
    payload, _dot, signature = token.rpartition(".")
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    with app_of(suite) as app:
        other_salt = serializer().__class__(app.config["SECRET_KEY"], salt="another purpose")
        foreign = other_salt.dumps([survey_id, None, None, "a@example.com"])
        missing = serializer().dumps([survey_id + 100, None, None, ""])
        wrong_types = serializer().dumps([str(survey_id), None, None, ""])
    for bad in (forged, foreign, missing, wrong_types, "x" * 300, "nothing"):
        response = visitor.get(f"/m/s/{bad}")
        assert response.status_code == 404, bad
        assert "the link is not valid" in page_text(response)
    # A post with a forged token stores nothing either.
    assert visitor.post(f"/m/s/{forged}", data={}).status_code == 404
    assert suite.sql("SELECT count(*) FROM mkt_survey_response") == [(0,)]


def test_a_required_question_left_empty_is_said_on_it_and_nothing_is_stored(marketing_suite):
    suite = marketing_suite
    survey_id, fields = new_survey(suite, required=("choice", "several choices", "text"))
    path = path_of(suite, survey_id, email="b@example.com")
    visitor = suite.client()
    refused = post_answers(visitor, path + "?lang=en", fields, choice=None,
                           text="   ", rating=None, **{"several choices": None})
    assert refused.status_code == 400
    assert "Please choose one." in field_block(refused, fields["choice"])
    assert "Choose at least one." in field_block(refused, fields["several choices"])
    assert "Please answer this question." in field_block(refused, fields["text"])
    # The rating is optional here: no message on it.
    assert "crm-survey-error" not in field_block(refused, fields["rating"])
    assert "Some answers are missing" in page_text(refused)
    # An option that is not one of the question's is refused too.
    forged = post_answers(visitor, path, fields, choice="Free beer")
    assert forged.status_code == 400
    assert "crm-survey-error" in field_block(forged, fields["choice"])
    assert suite.sql("SELECT count(*) FROM mkt_survey_response") == [(0,)]
    assert suite.sql("SELECT count(*) FROM mkt_survey_answer") == [(0,)]
    assert suite.sql("SELECT count(*) FROM mkt_response") == [(0,)]


def test_a_post_without_the_forms_token_is_refused(marketing_suite):
    suite = marketing_suite
    survey_id, fields = new_survey(suite)
    path = path_of(suite, survey_id, email="c@example.com")
    visitor = suite.client()
    visitor.get(path)
    refused = visitor.post(path, data=answers_form(fields))
    assert refused.status_code == 400
    assert "security token is missing" in page_text(refused)
    wrong = visitor.post(path, data={**answers_form(fields), "csrf_token": "not-the-token"})
    assert wrong.status_code == 400
    assert suite.sql("SELECT count(*) FROM mkt_survey_response") == [(0,)]
    assert suite.sql("SELECT count(*) FROM mkt_response") == [(0,)]


def test_answering_again_replaces_the_earlier_answers(marketing_suite):
    suite = marketing_suite
    survey_id, fields = new_survey(suite)
    path = path_of(suite, survey_id, email="Dee@Example.com")
    visitor = suite.client()
    assert post_answers(visitor, path, fields).status_code == 200
    # The page says the answers were given, fills them in, and that sending replaces.
    again = visitor.get(path + "?lang=en")
    assert "Sending the form again replaces them." in page_text(again)
    assert re.search(r'value="Price"[^>]*checked|checked[^>]*value="Price"',
                     field_block(again, fields["choice"]))
    assert "Faster delivery, please." in field_block(again, fields["text"])
    replaced = post_answers(visitor, path, fields, choice="Service", text="",
                            rating="2", **{"several choices": ["Shop"]})
    assert replaced.status_code == 200
    assert "They replace the answers you sent before." in page_text(replaced)
    response_id = suite.sql("SELECT id FROM mkt_survey_response")[0][0]
    assert stored(suite) == [(response_id, "choice", "Service", None),
                             (response_id, "several choices", "Shop", None),
                             (response_id, "rating", None, 2)]
    # The same address in other letters is the same person; one campaign response.
    same = path_of(suite, survey_id, email="dee@example.com")
    assert post_answers(suite.client(), same, fields).status_code == 200
    assert suite.sql("SELECT count(*) FROM mkt_survey_response") == [(1,)]
    assert suite.sql("SELECT count(*) FROM mkt_response") == [(1,)]
    # Someone else is another response; a link for no one takes a new one each time.
    assert post_answers(visitor, path_of(suite, survey_id, email="eve@example.com"),
                        fields).status_code == 200
    anyone = path_of(suite, survey_id)
    for _time in range(2):
        assert post_answers(suite.client(), anyone, fields).status_code == 200
    assert suite.sql("SELECT count(*) FROM mkt_survey_response") == [(4,)]
    assert suite.sql("SELECT count(*) FROM mkt_response") == [(4,)]


def test_a_closed_survey_says_so_and_takes_no_answer(marketing_suite):
    suite = marketing_suite
    closed_id, fields = new_survey(suite, is_open=False)
    path = path_of(suite, closed_id, email="f@example.com")
    visitor = suite.client()
    page = visitor.get(path + "?lang=en")
    assert page.status_code == 200 and "This survey is closed" in page_text(page)
    assert "<form" not in page.get_data(as_text=True)
    posted = visitor.post(path, data=answers_form(fields))
    assert "This survey is closed" in page_text(posted)
    # After its last day it is closed; on its last day it still takes answers.
    past_id, _fields = new_survey(suite, closes_on=date.today() - timedelta(days=1))
    assert "This survey is closed" in page_text(visitor.get(path_of(suite, past_id)))
    today_id, today_fields = new_survey(suite, closes_on=date.today())
    today = path_of(suite, today_id, email="f@example.com")
    assert post_answers(visitor, today, today_fields).status_code == 200
    assert suite.sql("SELECT survey_id FROM mkt_survey_response") == [(today_id,)]


def test_results_panel_counts_the_answers_and_the_list_shows_them(marketing_suite):
    suite = marketing_suite
    survey_id, fields = new_survey(suite)
    for number, (choice, several, rating, text) in enumerate((
            ("Price", ["Phone", "Website"], "5", "Cheaper, please."),
            ("Price", ["Phone"], "4", ""),
            ("Quality", ["Shop", "Phone"], "3", "More <b>colours</b>"))):
        path = path_of(suite, survey_id, email=f"r{number}@example.com")
        assert post_answers(suite.client(), path, fields, choice=choice, rating=rating,
                            text=text, **{"several choices": several}).status_code == 200
    admin = suite.admin_client()
    page = admin.get(f"/admin/survey/details/?id={survey_id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "3 responses" in page_text(page)

    def counts(kind):
        block = re.search(rf'(?s)data-question="{fields[kind][1:]}".*?</section>', body).group(0)
        rows = re.findall(r'(?s)<tr data-count="(\d+)"><td>(.*?)</td>', block)
        return block, {html.unescape(name).replace(" ★", ""): int(count)
                       for count, name in rows}

    block, found = counts("choice")
    assert found == {"Price": 2, "Quality": 1, "Service": 0}
    assert "<svg" in block and "3 people answered" in page_text_of(block)
    _block, found = counts("several choices")
    assert found == {"Phone": 3, "Website": 1, "Shop": 1}
    block, found = counts("rating")
    assert found == {"1": 0, "2": 0, "3": 1, "4": 1, "5": 1}
    assert "Average: 4.0" in page_text_of(block)
    block = re.search(rf'(?s)data-question="{fields["text"][1:]}".*?</section>', body).group(0)
    assert "2 people answered" in page_text_of(block)
    assert "Cheaper, please." in block and "More &lt;b&gt;colours&lt;/b&gt;" in block
    # The owner's test link works, for no one in particular.
    test_link = re.search(r'href="https?://[^/"]+(/m/s/[^"]+)"><i class="fa fa-external-link">'
                          r'</i> Public link \(test\)', body)
    assert test_link
    assert "Send my answers" in page_text(suite.client().get(test_link.group(1)))
    # The list counts the responses; the responses list shows the answers.
    cells = re.findall(r'(?s)<td class="col-responses">\s*(.*?)\s*</td>',
                       admin.get("/admin/survey/").get_data(as_text=True))
    assert cells == ["3"]
    # The panel's link lists this survey's responses only.
    other_id, other_fields = new_survey(suite, campaign=False, name="Other survey")
    assert post_answers(suite.client(), path_of(suite, other_id), other_fields,
                        choice="Service").status_code == 200
    responses_link = html.unescape(re.search(
        r'href="(/admin/survey-response/\?flt[^"]+)"', body).group(1))
    listing = page_text(admin.get(responses_link))
    assert "Other survey" not in listing and "Question about choice: Service" not in listing
    assert "Question about choice: Quality" in listing
    assert "Question about several choices: Shop; Phone" in listing
    assert "Question about rating: 5" in listing
    response = suite.sql("SELECT id FROM mkt_survey_response WHERE email = 'r2@example.com'")
    details = admin.get(f"/admin/survey-response/details/?id={response[0][0]}")
    assert "More <b>colours</b>" in page_text(details)
    assert "More <b>colours</b>" not in details.get_data(as_text=True)
    # A survey with responses is not deleted (close it instead).
    admin.post_form("/admin/survey/delete/", {"id": str(survey_id)}, token_from="/admin/survey/")
    assert suite.sql("SELECT count(*) FROM mkt_survey WHERE id = :s", s=survey_id) == [(1,)]
    assert "This survey has responses" in page_text(admin.get("/admin/survey/"))


def page_text_of(markup):
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def test_marketing_user_makes_a_survey_with_its_questions_on_the_form(marketing_suite):
    suite = marketing_suite
    client, user_id = user(suite, "mia", "marketing_user")
    new = "/admin/survey/new/"
    data = {"name": "Dealer survey", "is_open": "y", "introduction": "Hello",
            "questions-0-sequence": "1", "questions-0-text": "Which region?",
            "questions-0-kind": "choice", "questions-0-options": "North\n\nSouth\n",
            "questions-0-required": "y",
            "questions-1-sequence": "2", "questions-1-text": "Your rating",
            "questions-1-kind": "rating", "questions-1-options": ""}
    # A choice with one option: a message on its options, nothing saved.
    one_option = client.post_form(new, {**data, "questions-0-options": "North"},
                                  token_from=new)
    assert "Give at least two options, one per line." in page_text(one_option)
    assert suite.sql("SELECT count(*) FROM mkt_survey") == [(0,)]
    saved = client.post_form(new, data, token_from=new)
    assert saved.status_code == 302, page_text(saved)[:3000]
    assert suite.sql("SELECT name, is_open, owner_id FROM mkt_survey") == [
        ("Dealer survey", True, user_id)]
    assert suite.sql("SELECT sequence, text, kind, required FROM mkt_survey_question "
                     "ORDER BY sequence") == [(1, "Which region?", "choice", True),
                                              (2, "Your rating", "rating", False)]
    survey_id = suite.sql("SELECT id FROM mkt_survey")[0][0]
    question_ids = [row[0] for row in suite.sql(
        "SELECT id FROM mkt_survey_question ORDER BY sequence")]
    # Answered, its question cannot be removed from the form (its answers would go).
    path = path_of(suite, survey_id, email="g@example.com")
    visitor = suite.client()
    answered = visitor.post(path, data={f"q{question_ids[0]}": "South", f"q{question_ids[1]}": "5",
                                        "csrf_token": visitor.csrf_token(path)})
    assert answered.status_code == 200
    edit = f"/admin/survey/edit/?id={survey_id}"
    removed = client.post_form(edit, {**data, "questions-0-id": str(question_ids[0]),
                                      "questions-1-id": str(question_ids[1]),
                                      "del-questions-0": "y"}, token_from=edit)
    assert "This question has answers: it cannot be removed." in page_text(removed)
    assert suite.sql("SELECT count(*) FROM mkt_survey_question") == [(2,)]
    # The survey's record page offers the test link to its editors.
    assert "Public link (test)" in client.get(
        f"/admin/survey/details/?id={survey_id}").get_data(as_text=True)
    # A marketing user reads the responses.
    assert "Which region?: South" in page_text(client.get("/admin/survey-response/"))
