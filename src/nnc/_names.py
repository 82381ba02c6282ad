"""One message for a name nnc does not know (a loss, an optimizer, a metric, an activation, ...).

    raise unknown_name("loss", "sparse_categorical_crossentropi", known_names)
    ValueError: unknown loss 'sparse_categorical_crossentropi'; did you mean 'sparse_categorical_crossentropy'?
    (known: ...)
"""
import difflib


def unknown_name(kind, name, known):
    """A ValueError naming the unknown `name` of `kind`, the closest known names, and all known names."""
    known = sorted(str(k) for k in known)
    close = difflib.get_close_matches(str(name).lower(), [k.lower() for k in known], n=3, cutoff=0.6)
    by_lower = {k.lower(): k for k in known}
    hint = ""
    if close:
        hint = "; did you mean " + " or ".join(repr(by_lower[c]) for c in close) + "?"
    return ValueError(f"unknown {kind} {name!r}{hint} (known: {', '.join(known)})")
