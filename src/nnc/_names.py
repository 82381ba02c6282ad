"""Names nnc knows: one registry type for every family reachable by name, and one message for a name
it does not know.

    LOSSES = Registry("loss")
    LOSSES.add(MeanSquaredError, "mse", "mean_squared_error")
    LOSSES["MSE"]                          -> MeanSquaredError (case and surrounding spaces ignored)
    LOSSES["sparse_categorical_crossentropi"]
    ValueError: unknown loss 'sparse_categorical_crossentropi'; did you mean 'sparse_categorical_crossentropy'?
    (known: ...)

Losses, activations, metrics, initializers, regularizers, optimizers, schedules, layer classes and
model classes each keep one Registry; a class joins its family's registry when it is defined
(the base class derives from Registered) or in a table of Keras names (`add`).
"""
import difflib
from typing import Any, ClassVar, Iterable, TypeVar

T = TypeVar("T")
C = TypeVar("C", bound=type)


def unknown_name(kind: str, name: Any, known: Iterable[Any]) -> ValueError:
    """A ValueError naming the unknown `name` of `kind`, the closest known names, and all known names."""
    known = sorted({str(k) for k in known})
    close = difflib.get_close_matches(str(name).lower(), [k.lower() for k in known], n=3, cutoff=0.6)
    by_lower = {k.lower(): k for k in known}
    hint = ""
    if close:
        hint = "; did you mean " + " or ".join(repr(by_lower[c]) for c in dict.fromkeys(close)) + "?"
    return ValueError(f"unknown {kind} {name!r}{hint} (known: {', '.join(known)})")


class Registry:
    """Names -> objects of one `kind` ("loss", "optimizer", ...).

    Lookups ignore case and surrounding spaces, unless `exact` (layer class names in saved configs
    must match as written). An unknown name raises unknown_name's ValueError with "did you mean" and
    the names users type: a class's aliases ("he_normal"), its class name only when it has none or
    the registry is made with `list_classes` (schedules, which configs name by class)."""

    def __init__(self, kind: str, exact: bool = False, list_classes: bool = False) -> None:
        self.kind = kind
        self.exact = exact
        self.list_classes = list_classes
        self._objects: dict[str, Any] = {}     # key (lower-cased unless exact) -> object
        self._names: dict[str, str] = {}       # key -> the name as registered, for messages (only the listed ones)

    def _key(self, name: str) -> str:
        return name if self.exact else name.strip().lower()

    def add(self, obj: T, *names: str, listed: bool = True) -> T:
        """Register `obj` under each of `names` (shown in messages if `listed`); returns obj."""
        for name in names:
            self._objects[self._key(name)] = obj
            if listed:
                self._names[self._key(name)] = name
        return obj

    def register(self, cls: C) -> C:
        """Register a class under its own name and its `aliases` (a class decorator)."""
        aliases = getattr(cls, "aliases", ())
        self.add(cls, cls.__name__, listed=self.list_classes or not aliases)
        return self.add(cls, *aliases)

    def names(self) -> list[str]:
        """Every registered name, as registered, sorted."""
        return sorted(set(self._names.values()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) in self._objects

    def __getitem__(self, name: Any) -> Any:
        if not isinstance(name, str):
            raise unknown_name(self.kind, name, self._names.values())
        try:
            return self._objects[self._key(name)]
        except KeyError:
            raise unknown_name(self.kind, name, self._names.values()) from None


class Registered:
    """A base class whose subclasses join its `registry` as they are defined, under the class name and
    their `aliases` (a shared base named with a leading underscore, such as _FromLogits, does not).

        class Loss(Registered):
            registry = LOSS_CLASSES
    """
    registry: ClassVar[Registry]
    aliases: tuple[str, ...] = ()    # the names users may type besides the class name

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "registry" not in vars(cls) and not cls.__name__.startswith("_"):
            cls.registry.register(cls)
