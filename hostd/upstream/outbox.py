"""The upstream outbox (stub until the upstream issue lands)."""


def enqueue_rating(db, rating_id):
    return None


def enqueue_session(db, session_id):
    return None


def enqueue_work_order(db, order_id, to_state):
    return None
