"""实名 (named) rating: an evaluator's name and phone, left for a callback.

A citizen may leave a name and a mainland mobile number with a rating (the
rate-later page, a paper form). They are kept only with the callback consent
box ticked, and go upstream only with the second consent (upstream_consent,
ratings.evaluator_consent; hostd/upstream/records.py). Pages show them to
supervisors only, every read logged (hostd/web/auth.py log_evaluator_access);
hostd/recording/retention.py purges them once nothing needs them any more.
"""

from collections import namedtuple

from hostd.base import text

MAX_NAME = 32

Evaluator = namedtuple("Evaluator", "name mobile consent")  # consent: to send them upstream
NONE = Evaluator(None, None, 0)


class EvaluatorError(ValueError):
    """str() is the reason, in Chinese and English."""


def mobile(value):
    """A mainland mobile number (spaces, dashes and +86 allowed), as 11 digits."""
    try:
        return text.mobile(value)
    except ValueError as exc:
        raise EvaluatorError(str(exc)) from None


def clean(name, phone, callback_consent, upstream_consent=False):
    """An Evaluator from a form's fields; NONE when both are blank.

    Raises EvaluatorError on a bad number, or on details left without the
    callback consent."""
    name = (name or "").strip()
    phone = (phone or "").strip()
    if not name and not phone:
        return NONE
    if not callback_consent:
        raise EvaluatorError(
            "留下姓名或电话需勾选“同意回访” / tick the callback consent to leave a name or phone"
        )
    if name:
        try:
            name = text.name(name, "姓名 name", max_len=MAX_NAME)
        except ValueError as exc:
            raise EvaluatorError(str(exc))
    return Evaluator(name or None, mobile(phone) if phone else None, 1 if upstream_consent else 0)
