"""WTForms: the shape of each form and its field checks. Rules that need the database
live in services; views put the services' messages back onto the fields."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)
from wtforms.widgets import CheckboxInput, ListWidget

from .i18n import LABELS, TRL_LABELS
from .models import Cooperation, DeclineReason, OrgKind, Role, Visibility
from .services.records import clean_text

REQUIRED = _l("This field is required.")
EMAIL = _l("Enter a valid e-mail address, such as name@example.com.")
URL_MSG = _l("Enter a full web address starting with http:// or https://.")


def length(max_: int, min_: int = -1) -> Length:
    if min_ > 0:
        msg = _l("Enter between %(min)d and %(max)d characters.", min=min_, max=max_)
    else:
        msg = _l("Enter at most %(max)d characters.", max=max_)
    return Length(min=min_, max=max_, message=msg)


def opts(pairs) -> list[SelectChoice]:
    """Choices for select, radio and checkbox fields."""
    return [SelectChoice(value, label) for value, label in pairs]


#: The two sides an account can take.
SIDES = opts(
    [
        (Role.COMPANY.value, _l("post technology demands (company)")),
        (Role.SUPPLIER.value, _l("offer capabilities and reply to demands (supplier)")),
        (Role.BOTH.value, _l("both: post demands and offer capabilities")),
    ]
)


def strip(value):
    return value.strip() if isinstance(value, str) else value


class Form(FlaskForm):
    """Base of every form: whatever a text field receives goes through ``clean_text`` (line
    breaks normalised; control and invisible characters removed, so text made of them alone
    is empty and a required field says so). Passwords are kept exactly as typed."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = list(unbound_field.kwargs.get("filters", ()))
            if not issubclass(unbound_field.field_class, PasswordField):  # kept as typed
                filters.insert(0, clean_text)
            return unbound_field.bind(form=form, filters=filters, **options)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ActionForm(Form):
    """A form with nothing but its CSRF token: buttons that change something."""


class LanguageForm(Form):
    lang = HiddenField(validators=[DataRequired()])
    next = HiddenField()


class SignUpForm(Form):
    role = RadioField(
        _l("I want to"),
        choices=SIDES,
        validators=[InputRequired(message=_l("Choose one."))],
    )
    organization = StringField(
        _l("Organisation"), filters=[strip], validators=[DataRequired(REQUIRED), length(200, 2)]
    )
    organization_kind = SelectField(
        _l("Kind of organisation"),
        choices=opts([
            (OrgKind.ENTERPRISE.value, _l("Enterprise")),
            (OrgKind.UNIVERSITY.value, _l("University or college")),
            (OrgKind.OTHER.value, _l("Other")),
        ]),
        default=OrgKind.ENTERPRISE.value,
    )
    display_name = StringField(
        _l("Your name"), filters=[strip], validators=[DataRequired(REQUIRED), length(100)]
    )
    email = EmailField(
        _l("E-mail"),
        filters=[strip],
        validators=[DataRequired(REQUIRED), Email(message=EMAIL), length(254)],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(REQUIRED), length(128, 8)],
        description=_l("At least 8 characters."),
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(REQUIRED),
            EqualTo("password", message=_l("The two passwords differ.")),
        ],
    )


class LoginForm(Form):
    email = EmailField(
        _l("E-mail"), filters=[strip], validators=[DataRequired(REQUIRED), Email(message=EMAIL)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED)])
    next = HiddenField()


class RecordForm(Form):
    """Fields shared by demands and capabilities. Choices are filled in by the view."""

    title = StringField(
        _l("Title"), filters=[strip], validators=[DataRequired(REQUIRED), length(200, 4)]
    )
    description = TextAreaField(
        _l("Description"),
        filters=[strip],
        validators=[DataRequired(REQUIRED), length(5000, 10)],
    )
    keywords = StringField(
        _l("Keywords"),
        filters=[strip],
        validators=[Optional(), length(500)],
        description=_l("Separate with commas, semicolons or 、"),
    )
    segment = SelectField(_l("Industry-chain segment"), choices=[], validate_choice=True)
    themes = MultiCheckboxField(_l("Technology themes"), choices=[], validate_choice=True)
    contact_name = StringField(
        _l("Contact person"), filters=[strip], validators=[Optional(), length(100)]
    )
    contact_email = EmailField(
        _l("Contact e-mail"),
        filters=[strip],
        validators=[Optional(), Email(message=EMAIL), length(254)],
    )
    website = StringField(
        _l("Website"),
        filters=[strip],
        validators=[Optional(), URL(require_tld=False, message=URL_MSG), length(300)],
    )

    def set_choices(self, segments, themes, loc) -> None:
        self.segment.choices = opts(
            [("", _l("Not sure yet"))] + [(s.code, loc(s, "name")) for s in segments]
        )
        self.themes.choices = opts((t.code, loc(t, "name")) for t in themes)


class DemandForm(RecordForm):
    visibility = RadioField(
        _l("Who may see our organisation's name"),
        choices=opts([
            (Visibility.PUBLIC.value, _l("Public: show our organisation")),
            (Visibility.ANONYMOUS.value, _l("Anonymous: hide our organisation from the public")),
        ]),
        default=Visibility.PUBLIC.value,
        validators=[InputRequired(message=_l("Choose one."))],
    )
    deadline = DateField(
        _l("Reply by (optional)"),
        validators=[Optional()],
        description=_l("Format: 2026-12-31"),
    )


class CapabilityForm(RecordForm):
    pass


class ReplyForm(Form):
    # Ownership of the chosen capability is checked by the service.
    capability_id = SelectField(
        _l("Which of your capabilities fits"), choices=[], coerce=str, validate_choice=False
    )
    fit = TextAreaField(
        _l("How we fit"),
        filters=[strip],
        validators=[DataRequired(REQUIRED), length(3000, 20)],
        description=_l("What you would do for this demand, in a few sentences."),
    )
    cases = TextAreaField(
        _l("Relevant cases"), filters=[strip], validators=[Optional(), length(3000)]
    )
    contact_name = StringField(
        _l("Contact person"), filters=[strip], validators=[DataRequired(REQUIRED), length(100)]
    )
    contact_email = EmailField(
        _l("Contact e-mail"),
        filters=[strip],
        validators=[DataRequired(REQUIRED), Email(message=EMAIL), length(254)],
    )
    contact_phone = StringField(
        _l("Phone (optional)"),
        filters=[strip],
        validators=[
            Optional(),
            Regexp(r"^[0-9+()\- ]{5,40}$", message=_l("Use digits, spaces, + - ( ) only.")),
        ],
    )
    trl = SelectField(
        _l("Maturity (technology readiness level)"),
        choices=opts([("", _l("Choose a level"))] + [(str(n), label) for n, label in TRL_LABELS.items()]),
        validators=[DataRequired(REQUIRED)],
        description=_l("How far your solution has come, from 1 (basic principles) to 9 (proven in operation)."),
    )
    cooperation = RadioField(
        _l("Proposed form of cooperation"),
        choices=opts((c.value, label) for c, label in LABELS[Cooperation].items()),
        validators=[InputRequired(message=_l("Choose one."))],
    )
    # Checked by its content (a PDF, within ATTACHMENT_MAX_BYTES) by services.uploads.
    attachment = FileField(_l("Attachment (optional)"))
    remove_attachment = BooleanField(_l("Remove the attached file"))


class ReasonForm(Form):
    reason = TextAreaField(
        _l("Reason"), filters=[strip], validators=[DataRequired(REQUIRED), length(1000, 2)]
    )


class AnswerReplyForm(Form):
    decision = RadioField(
        _l("Your answer"),
        choices=opts([("shortlisted", _l("Shortlist")), ("declined", _l("Decline"))]),
        validators=[InputRequired(message=_l("Choose one."))],
    )
    # Required when declining; the service says so at this field.
    decline_reason = RadioField(
        _l("Why you decline"),
        choices=opts((r.value, label) for r, label in LABELS[DeclineReason].items()),
        validators=[Optional()],
    )
    reason = TextAreaField(
        _l("In a sentence (required for “other”)"),
        filters=[strip],
        validators=[Optional(), length(1000)],
    )


class InviteForm(Form):
    message = TextAreaField(
        _l("A note to the supplier (optional)"),
        filters=[strip],
        validators=[Optional(), length(500)],
    )


class ProfileForm(Form):
    website = StringField(
        _l("Website"),
        filters=[strip],
        validators=[Optional(), URL(require_tld=False, message=URL_MSG), length(300)],
    )
    description = TextAreaField(
        _l("About us"), filters=[strip], validators=[Optional(), length(3000)]
    )


class SuggestionForm(Form):
    """Accepting the board's suggestions for a record (works without JavaScript)."""

    segment = BooleanField()
    themes = MultiCheckboxField(choices=[], validate_choice=True)
    keywords = MultiCheckboxField(choices=[], validate_choice=False)


class TermForm(Form):
    concept = StringField(
        _l("Concept id"), filters=[strip], validators=[DataRequired(REQUIRED), length(80)]
    )
    term = StringField(_l("Term"), filters=[strip], validators=[DataRequired(REQUIRED), length(100)])
    lang = SelectField(
        _l("Language"),
        choices=opts([("zh", _l("Chinese")), ("en", _l("English")), ("abbr", _l("Abbreviation"))]),
    )


class ConceptForm(Form):
    key = StringField(
        _l("Concept id"),
        filters=[strip],
        validators=[
            DataRequired(REQUIRED),
            Regexp(r"^[a-z][a-z0-9_]{1,79}$", message=_l("Lowercase letters, digits and _ only.")),
        ],
    )
    label_zh = StringField(
        _l("Chinese term"), filters=[strip], validators=[DataRequired(REQUIRED), length(100)]
    )
    label_en = StringField(
        _l("English term"), filters=[strip], validators=[DataRequired(REQUIRED), length(100)]
    )
    broader = StringField(
        _l("Broader concept id (optional)"), filters=[strip], validators=[Optional(), length(80)]
    )
    segments = MultiCheckboxField(_l("Segments"), choices=[], validate_choice=True)
    themes = MultiCheckboxField(_l("Themes"), choices=[], validate_choice=True)


class MemberForm(Form):
    """Staff add an account to an existing organisation."""

    role = RadioField(
        _l("Side"),
        choices=SIDES,
        validators=[InputRequired(message=_l("Choose one."))],
    )
    display_name = StringField(
        _l("Name"), filters=[strip], validators=[DataRequired(REQUIRED), length(100)]
    )
    email = EmailField(
        _l("E-mail"),
        filters=[strip],
        validators=[DataRequired(REQUIRED), Email(message=EMAIL), length(254)],
    )
    password = PasswordField(
        _l("Initial password"),
        validators=[DataRequired(REQUIRED), length(128, 8)],
        description=_l("Give it to the person in a safe way; they can keep using it."),
    )


# -- account recovery, password and e-mail changes, contact ----------------------------
class ForgotPasswordForm(Form):
    email = EmailField(
        _l("E-mail"),
        filters=[strip],
        validators=[DataRequired(REQUIRED), Email(message=EMAIL), length(254)],
    )


class NewPasswordForm(Form):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(REQUIRED), length(128, 8)],
        description=_l("At least 8 characters."),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(REQUIRED),
            EqualTo("password", message=_l("The two passwords differ.")),
        ],
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(REQUIRED)])


class ChangeEmailForm(Form):
    email = EmailField(
        _l("New e-mail address"),
        filters=[strip],
        validators=[DataRequired(REQUIRED), Email(message=EMAIL), length(254)],
    )
    password = PasswordField(_l("Current password"), validators=[DataRequired(REQUIRED)])


class ContactForm(Form):
    name = StringField(
        _l("Your name"), filters=[strip], validators=[DataRequired(REQUIRED), length(100)]
    )
    email = EmailField(
        _l("Your e-mail"),
        filters=[strip],
        validators=[DataRequired(REQUIRED), Email(message=EMAIL), length(254)],
        description=_l("The park staff answer at this address."),
    )
    organization = StringField(
        _l("Organisation (optional)"), filters=[strip], validators=[Optional(), length(200)]
    )
    subject = StringField(
        _l("Subject"), filters=[strip], validators=[DataRequired(REQUIRED), length(200)]
    )
    message = TextAreaField(
        _l("Your message"), filters=[strip], validators=[DataRequired(REQUIRED), length(5000)]
    )


# -- conversations on a reply: messages and meetings ----------------------------------
#: What a datetime-local input sends (minutes, with or without seconds).
LOCAL_TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
LOCAL_TIME_MSG = _l("Enter a date and time, such as 2026-05-20 14:30.")


class MessageForm(Form):
    body = TextAreaField(
        _l("Your message to the other party"), filters=[strip],
        validators=[DataRequired(REQUIRED), length(4000)],
    )


class MeetingForm(Form):
    """Times are wall-clock times on the board's timezone; the view turns them into UTC and
    the service refuses past ones at their field."""

    option_1 = DateTimeLocalField(
        _l("Time 1"), format=LOCAL_TIME_FORMATS, invalid_value_message=LOCAL_TIME_MSG,
        validators=[InputRequired(REQUIRED)],
    )
    option_2 = DateTimeLocalField(
        _l("Time 2 (optional)"), format=LOCAL_TIME_FORMATS, invalid_value_message=LOCAL_TIME_MSG,
        validators=[Optional()],
    )
    option_3 = DateTimeLocalField(
        _l("Time 3 (optional)"), format=LOCAL_TIME_FORMATS, invalid_value_message=LOCAL_TIME_MSG,
        validators=[Optional()],
    )
    duration = IntegerField(
        _l("Duration (minutes)"),
        default=60,
        invalid_value_message=_l("Enter a number of minutes between 30 and 240."),
        validators=[
            InputRequired(REQUIRED),
            NumberRange(30, 240, message=_l("Enter a number of minutes between 30 and 240.")),
        ],
    )
    place = StringField(
        _l("Place"), filters=[strip], validators=[Optional(), length(300)],
        description=_l("An address or a room. Give a place, an online link, or both."),
    )
    online_link = StringField(
        _l("Online meeting link"),
        filters=[strip],
        validators=[
            Optional(),
            Regexp(r"(?i)^https?://\S+$", message=URL_MSG),
            URL(require_tld=False, message=URL_MSG),
            length(500),
        ],
    )
    note = TextAreaField(
        _l("A note for the other party (optional)"), filters=[strip],
        validators=[Optional(), length(1000)],
    )

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if not self.place.data and not self.online_link.data and not self.online_link.errors:
            self.place.errors = [*self.place.errors, _l("Give a place, an online link, or both.")]
            ok = False
        return ok


class AcceptMeetingForm(Form):
    # Choices (the proposed times) are filled in by the view.
    option = RadioField(
        _l("The time that suits you"), choices=[], validators=[InputRequired(_l("Choose one."))]
    )


class DeclineMeetingForm(Form):
    reason = TextAreaField(
        _l("Reason (optional)"), filters=[strip], validators=[Optional(), length(1000)]
    )
