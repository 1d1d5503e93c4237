"""差评 work orders (stub until the work-orders issue lands)."""


def on_rating(db, rating_id):
    """Open a work order for a counted 差评; return its id or None."""
    return None
