"""Customers and the people, places and labels around them; activities with them."""
import re
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import DDL, and_, event, false, or_, select
from sqlalchemy.orm import Session

from addons.crm_contacts import normalise
from core import merge
from core.db import db, link_table
from core.i18n import mark
from core.models import OwnedMixin, Sequence, User

# The values are stored as they are and shown translated (mark: into the catalog).
CUSTOMER_KINDS = (mark("company"), mark("individual"))
GRADES = ("A", "B", "C", "D")
STAGES = (mark("prospect"), mark("active"), mark("dormant"), mark("lost"))
ACTIVITY_KINDS = (mark("call"), mark("visit"), mark("meeting"), mark("email"), mark("task"),
                  mark("plan"))
ACTIVITY_STATES = (mark("planned"), mark("done"), mark("cancelled"))
CODE_SEQUENCE = "crm_contacts.customer_code"


def choice(*values, name, length=16):
    """A text column limited to ``values``: checked by forms, imports and the database."""
    return db.Enum(*values, name=name, native_enum=False, create_constraint=True,
                   length=length, validate_strings=True)


class Region(db.Model):
    """A region tree: country > province > city, or sales territories."""

    __tablename__ = "crm_region"
    __label__ = mark("Region")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, index=True, info={"label": _l("Name")})
    parent_id = db.Column(db.ForeignKey("crm_region.id"), index=True)
    parent = db.relationship("Region", remote_side=[id], info={"label": _l("Parent region")},
                             backref=db.backref("children", info={"label": _l("Subregions")}))

    def __str__(self):
        return self.name


class Industry(db.Model):
    __tablename__ = "crm_industry"
    __label__ = mark("Industry")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, unique=True, info={"label": _l("Name")})


class Source(db.Model):
    """Where a customer came from: trade show, website, referral..."""

    __tablename__ = "crm_source"
    __label__ = mark("Source")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, unique=True, info={"label": _l("Name")})


class Tag(db.Model):
    __tablename__ = "crm_tag"
    __label__ = mark("Tag")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50), nullable=False, unique=True, info={"label": _l("Name")})


customer_tags = link_table("crm_customer_tag", ("customer_id", "crm_customer.id"),
                            ("tag_id", "crm_tag.id"))


class Customer(OwnedMixin, db.Model):
    """A company or a person the company sells to (or buys from: ``is_supplier``)."""

    __tablename__ = "crm_customer"
    __label__ = mark("Customer")
    __table_args__ = (
        # The list of a user with the "own" rule, newest first, at any depth; on
        # PostgreSQL it also carries the search keys, so that a search within one
        # owner's customers and a deep page are answered from the index alone.
        db.Index("ix_crm_customer_owner_recent", "owner_id", "id",
                 postgresql_include=["name_key", "code", "phone_key", "email_key"]),
        # By name, for the list sorted by name and the quick search (which reads its ids
        # from this index alone: hooks.first_found).
        db.Index("ix_crm_customer_owner_name", "owner_id", "name",
                 postgresql_include=["id", "name_key", "code", "phone_key", "email_key"]),
        # "My grade A customers in Shanghai": counted from the index alone.
        db.Index("ix_crm_customer_owner_grade_city", "owner_id", "grade", "city"),
        # Quick search by any part of the name or number (PostgreSQL; SQLite scans).
        db.Index("ix_crm_customer_name_trgm", "name_key", postgresql_using="gin",
                 postgresql_ops={"name_key": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
        db.Index("ix_crm_customer_phone_trgm", "phone_key", postgresql_using="gin",
                 postgresql_ops={"phone_key": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
    )
    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(20), unique=True, info={
        "label": _l("Code"), "description": _l("Left empty, the next number is given.")})
    kind = db.Column(choice(*CUSTOMER_KINDS, name="crm_customer_kind"), nullable=False,
                     default="company", index=True, info={"label": _l("Kind")})
    name = db.Column(db.String(200), nullable=False, index=True, info={"label": _l("Name")})
    # The name, phone and email as compared for duplicates (see normalise.py).
    name_key = db.Column(db.String(200), nullable=False, default="", index=True,
                         info={"derived": True})
    grade = db.Column(choice(*GRADES, name="crm_customer_grade"), index=True,
                      info={"label": _l("Grade")})
    is_key = db.Column(db.Boolean, nullable=False, default=False, index=True,
                       info={"label": _l("Key customer")})
    stage = db.Column(choice(*STAGES, name="crm_customer_stage"), nullable=False,
                      default="prospect", index=True, info={"label": _l("Lifecycle stage")})
    source_id = db.Column(db.ForeignKey("crm_source.id"), index=True)
    source = db.relationship(Source, info={"label": _l("Source")})
    industry_id = db.Column(db.ForeignKey("crm_industry.id"), index=True)
    industry = db.relationship(Industry, info={"label": _l("Industry")})
    region_id = db.Column(db.ForeignKey("crm_region.id"), index=True)
    region = db.relationship(Region, info={"label": _l("Region")})
    credit_limit = db.Column(db.Numeric(14, 2), info={"label": _l("Credit limit")})
    phone = db.Column(db.String(40), info={"label": _l("Phone")})
    phone_key = db.Column(db.String(40), nullable=False, default="", index=True,
                         info={"derived": True})
    email = db.Column(db.String(254), info={"label": _l("Email")})
    email_key = db.Column(db.String(254), nullable=False, default="", index=True,
                         info={"derived": True})
    website = db.Column(db.String(200), info={"label": _l("Website")})
    province = db.Column(db.String(50), index=True, info={"label": _l("Province / state")})
    city = db.Column(db.String(50), index=True, info={"label": _l("City")})
    district = db.Column(db.String(50), info={"label": _l("District")})
    street = db.Column(db.String(200), info={"label": _l("Street")})
    postcode = db.Column(db.String(20), info={"label": _l("Postcode")})
    country = db.Column(db.String(50), info={"label": _l("Country")})
    is_supplier = db.Column(db.Boolean, nullable=False, default=False, index=True,
                            info={"label": _l("Supplier")})
    notes = db.Column(db.Text, info={"label": _l("Notes")})
    tags = db.relationship(Tag, secondary=customer_tags, info={"label": _l("Tags")})

    def __str__(self):
        return f"{self.name} ({self.code})" if self.code else self.name

    def refresh_keys(self):
        self.name_key = normalise.name(self.name)
        self.phone_key = normalise.phone(self.phone)
        self.email_key = normalise.email(self.email)

    @classmethod
    def matching(cls, text, hidden=frozenset()):
        """The condition for customers that a search for ``text`` finds: the code, any
        part of the name (every word, in any order, in either width, with or without a
        company suffix), part of the phone number, or the email; not by the ``hidden``
        fields (core.layout)."""
        text = text.strip()
        conditions = [] if "code" in hidden else [cls.code == text.upper()]
        words = [key for key in (normalise.name(word) for word in text.split()) if key]
        if words and "name" not in hidden:
            conditions.append(and_(*[cls.name_key.contains(key, autoescape=True)
                                     for key in words]))
        digits = normalise.phone(text)
        if (len(digits) >= 5 and not re.search(r"[^\d\s()+.-]", text)
                and "phone" not in hidden):
            conditions.append(cls.phone_key.contains(digits, autoescape=True))
        if "@" in text and "email" not in hidden:
            conditions.append(cls.email_key == normalise.email(text))
        return or_(false(), *conditions)

    @classmethod
    def import_warnings(cls, records, session):
        """Possible duplicates among imported rows: (index, column, message) each."""
        from addons.crm_contacts.duplicates import import_warnings
        return import_warnings(records, session)


# The trigram index needs PostgreSQL's pg_trgm (a trusted extension: the database owner
# may create it).
event.listen(Customer.__table__, "before_create", DDL(
    "CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))


class Contact(OwnedMixin, db.Model):
    """A person at a customer."""

    __tablename__ = "crm_contact"
    __label__ = mark("Contact")
    __table_args__ = (
        # The quick search finds contacts by any part of the name (PostgreSQL; SQLite
        # scans): without it, a salesperson's search reads every contact they own.
        db.Index("ix_crm_contact_name_trgm", "name", postgresql_using="gin",
                 postgresql_ops={"name": "gin_trgm_ops"}).ddl_if(dialect="postgresql"),
        # A salesperson's quick search of a part too short for trigrams (two Chinese
        # characters) is answered from this index alone (hooks.first_found).
        db.Index("ix_crm_contact_owner_name", "owner_id", "name",
                 postgresql_include=["id", "phone", "mobile", "email"]),
    )
    id = db.Column(db.Integer, primary_key=True)
    customer_id = db.Column(db.ForeignKey("crm_customer.id"), nullable=False, index=True)
    customer = db.relationship(Customer, backref=db.backref("contacts", lazy="dynamic"),
                               info={"label": _l("Customer")})
    name = db.Column(db.String(100), nullable=False, index=True, info={"label": _l("Name")})
    title = db.Column(db.String(100), info={"label": _l("Job title")})
    department = db.Column(db.String(100), info={"label": _l("Department")})
    phone = db.Column(db.String(40), index=True, info={"label": _l("Phone")})
    mobile = db.Column(db.String(40), index=True, info={"label": _l("Mobile")})
    email = db.Column(db.String(254), index=True, info={"label": _l("Email")})
    birthday = db.Column(db.Date, index=True, info={"label": _l("Birthday")})
    is_primary = db.Column(db.Boolean, nullable=False, default=False,
                           info={"label": _l("Primary contact")})
    notes = db.Column(db.Text, info={"label": _l("Notes")})

    def __str__(self):
        return self.name


competitor_customers = link_table(
    "crm_competitor_customer",
    ("competitor_id", "crm_competitor.id"),
    ("customer_id", "crm_customer.id"))


class Competitor(db.Model):
    __tablename__ = "crm_competitor"
    __label__ = mark("Competitor")
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False, unique=True, info={"label": _l("Name")})
    website = db.Column(db.String(200), info={"label": _l("Website")})
    strengths = db.Column(db.Text, info={"label": _l("Strengths")})
    weaknesses = db.Column(db.Text, info={"label": _l("Weaknesses")})
    products = db.Column(db.Text, info={"label": _l("Products")})
    customers = db.relationship(Customer, secondary=competitor_customers,
                                info={"label": _l("Met at customers")})


activity_participants = link_table(
    "crm_activity_participant",
    ("activity_id", "crm_activity.id"),
    ("user_id", "core_user.id"))


class Activity(OwnedMixin, db.Model):
    """A call, visit, meeting, email, task or work plan, done or to do."""

    __tablename__ = "crm_activity"
    __label__ = mark("Activity")
    __table_args__ = (
        db.Index("ix_crm_activity_customer_start", "customer_id", "start_at"),
        db.Index("ix_crm_activity_owner_start", "owner_id", "start_at"),
        db.Index("ix_crm_activity_record", "record_model", "record_id", "start_at"),
    )
    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(choice(*ACTIVITY_KINDS, name="crm_activity_kind"), nullable=False,
                     default="call", index=True, info={"label": _l("Kind")})
    subject = db.Column(db.String(200), nullable=False, info={"label": _l("Subject")})
    customer_id = db.Column(db.ForeignKey("crm_customer.id"), index=True)
    customer = db.relationship(Customer, backref=db.backref("activities", lazy="dynamic"),
                               info={"label": _l("Customer")})
    contact_id = db.Column(db.ForeignKey("crm_contact.id"), index=True)
    contact = db.relationship(Contact, info={"label": _l("Contact")})
    start_at = db.Column(db.DateTime, nullable=False, index=True, info={"label": _l("Start")})
    end_at = db.Column(db.DateTime, info={"label": _l("End")})
    status = db.Column(choice(*ACTIVITY_STATES, name="crm_activity_status"), nullable=False,
                       default="planned", index=True, info={"label": _l("Status")})
    outcome = db.Column(db.Text, info={"label": _l("Outcome")})
    next_follow_up = db.Column(db.Date, index=True, info={"label": _l("Next follow-up")})
    participants = db.relationship(User, secondary=activity_participants,
                                   info={"label": _l("Participants")})
    # What the activity is about besides its customer (a deal, a quote, a ticket), named
    # by model and id as the feed names records: any addon's record may have activities
    # without this addon knowing the model. Set from the record's page, never typed in.
    record_model = db.Column(db.String(64), info={"derived": True})
    record_id = db.Column(db.Integer, info={"derived": True})

    def __str__(self):
        return self.subject

    @classmethod
    def owner_follows(cls):
        """When a customer or contact changes hands (core.reassign), its open activities
        of the old owner go with it, so their reminders reach the new owner: the planned
        ones, and done ones whose follow-up is today or later. The rest is history and
        stays with whoever did it (and cancelled ones remind nobody)."""
        still_open = (cls.status == "planned") | (
            (cls.status == "done") & (cls.next_follow_up >= date.today()))
        return {cls.customer_id: still_open, cls.contact_id: still_open}


# A merge of any records moves the activities logged on them (record_model, record_id).
merge.register_generic(Activity.__table__, "record_model", "record_id")


@event.listens_for(Session, "before_flush")
def _fill_customer_fields(session, _context, _instances):
    """Every way of saving a customer (screen, import, merge, job) keeps its duplicate
    keys current and gives a new customer the next code."""
    customers = [obj for obj in list(session.new) + list(session.dirty)
                 if isinstance(obj, Customer)]
    for customer in customers:
        customer.refresh_keys()
    _give_codes(session, [c for c in customers if not c.code])


def _give_codes(session, customers):
    """Codes from the sequence, reserved in one block; a code someone typed in by hand
    is skipped."""
    while customers:
        last = Sequence.next_value(session, CODE_SEQUENCE, len(customers))
        codes = [f"C{number:06d}" for number in range(last - len(customers) + 1, last + 1)]
        # One range query, not a list of 100,000 codes to look up (databases limit the
        # parameters of one statement); what else lies in the range is left out below.
        taken = set(session.scalars(select(Customer.code).where(
            Customer.code.between(min(codes), max(codes)))))
        free = [code for code in codes if code not in taken]
        for customer, code in zip(customers, free):
            customer.code = code
        customers = customers[len(free):]
