"""The error tree drawn in ``learnkit.errors`` is the classes' tree; every error pickles; every advice
names only things that exist; results and Graph errors show as theme-safe cards in notebooks."""

from __future__ import annotations

import ast
import contextlib
import importlib
import inspect
import pickle
import pkgutil
import re
from collections.abc import Iterator
from typing import Any

import pytest

import learnkit
import learnkit.errors
from learnkit import GraphClient, UpdateResult
from learnkit.errors import (
    GraphError,
    NetworkError,
    UnexpectedResponseError,
    error_body,
    error_from_response,
)

# --- the classes -------------------------------------------------------------------------------


def public_modules() -> Iterator[Any]:
    """Every public learnkit module, the sandbox's aside: its exceptions become HTTP answers, never a user's."""
    yield learnkit
    for info in pkgutil.walk_packages(learnkit.__path__, "learnkit."):
        parts = info.name.split(".")[1:]
        if parts[0] == "sandbox" or any(p.startswith("_") for p in parts):
            continue
        yield importlib.import_module(info.name)


def error_classes() -> list[type[BaseException]]:
    """Every exception or warning class a public learnkit module exports, and every LearnkitError anywhere."""
    found: dict[str, type[BaseException]] = {}
    for module in public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__ == module.__name__:
                found[obj.__qualname__] = obj
    pending: list[type[BaseException]] = [learnkit.LearnkitError]
    while pending:  # a private module's error still reaches users (MissingExtraError)
        cls = pending.pop()
        if not cls.__module__.startswith("learnkit.sandbox"):
            found[cls.__qualname__] = cls
        pending += cls.__subclasses__()
    return sorted(found.values(), key=lambda c: c.__name__)


def tree_from_classes() -> tuple[set[tuple[str, str]], dict[str, set[str]]]:
    """(parent, child) edges along first bases, up to Exception; and the other bases of each class."""
    edges: set[tuple[str, str]] = set()
    also: dict[str, set[str]] = {}
    for cls in error_classes():
        others = {base.__name__ for base in cls.__bases__[1:]}
        if others:
            also[cls.__name__] = others
        node: type[BaseException] = cls
        while node is not Exception:
            parent = node.__bases__[0]
            edges.add((parent.__name__, node.__name__))
            node = parent
    return edges, also


def drawn_tree(doc: str) -> tuple[set[tuple[str, str]], dict[str, set[str]]]:
    """The same, read from a drawing like the one in errors.py's docstring."""
    block = doc.split("::\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    edges: set[tuple[str, str]] = set()
    also: dict[str, set[str]] = {}
    stack: list[tuple[int, str]] = []
    for line in block:
        found = re.match(r"^(?P<lead>[ │]*(?:[├└]── )?)(?P<name>[A-Z]\w*)(?: \(also (?P<also>[\w, ]+)\))?", line)
        if not found or ("── " not in found["lead"] and stack):
            continue  # a description carried onto the next line
        column = len(found["lead"])
        while stack and stack[-1][0] >= column:
            stack.pop()
        if stack:
            edges.add((stack[-1][1], found["name"]))
        if found["also"]:
            also[found["name"]] = {n.strip() for n in found["also"].split(",")}
        stack.append((column, found["name"]))
    return edges, also


def test_the_drawn_tree_is_the_tree_of_the_classes() -> None:
    drawn_edges, drawn_also = drawn_tree(learnkit.errors.__doc__ or "")
    real_edges, real_also = tree_from_classes()
    assert len(real_edges) > 30
    assert drawn_edges - real_edges == set(), "drawn, but not so in the code"
    assert real_edges - drawn_edges == set(), "in the code, but not drawn"
    assert drawn_also == real_also


def test_a_wrong_drawing_is_caught() -> None:
    # The drawing as it was: InvalidInputError under ValueError only, four classes missing.
    old = """Tree::

    Exception
    ├── ValueError
    │   └── InvalidInputError          refused before any request
    └── LearnkitError
        ├── TokenError                 no token
        └── GraphError                 Graph answered with an error (.status .code .message
            │                          .field .request_id .retry_after)
            └── RetryableError                   the request may succeed later

"""
    edges, also = drawn_tree(old)
    assert edges == {
        ("Exception", "ValueError"),
        ("ValueError", "InvalidInputError"),
        ("Exception", "LearnkitError"),
        ("LearnkitError", "TokenError"),
        ("LearnkitError", "GraphError"),
        ("GraphError", "RetryableError"),
    }
    assert also == {}
    assert edges != tree_from_classes()[0]


def test_the_tree_holds_the_errors_of_every_area() -> None:
    names = {c.__name__ for c in error_classes()}
    assert {"InvalidRowsError", "JournalError", "PermissionWarning", "FieldProblem", "SignInError"} <= names
    assert {"CommandError", "MissingExtraError", "ExtraColumnsWarning", "LoadError", "DatabaseInUse"} <= names
    assert issubclass(learnkit.InvalidInputError, learnkit.LearnkitError)
    assert issubclass(learnkit.InvalidInputError, ValueError)


def test_every_public_exception_class_lives_in_errors() -> None:
    # Private modules too (MissingExtraError used to live in _extras); the sandbox's own signals become HTTP
    # answers and live in learnkit.sandbox.errors.
    elsewhere = []
    for info in pkgutil.walk_packages(learnkit.__path__, "learnkit."):
        if info.name.endswith("__main__") or (
            info.name.startswith("learnkit.sandbox") and info.name != "learnkit.sandbox.load"
        ):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            defined_here = isinstance(obj, type) and obj.__module__ == info.name
            if (
                defined_here
                and issubclass(obj, BaseException)
                and not name.startswith("_")
                and info.name != "learnkit.errors"
            ):
                elsewhere.append(f"{info.name}.{name}")
    # The transport's own signal: a requests.Timeout the client turns into NetworkError; it never reaches a user.
    assert elsewhere == ["learnkit._transport.DeadlineExceeded"]


def test_no_module_but_errors_offers_the_classes() -> None:
    # One home: a module that raises an error imports it from learnkit.errors and does not list it as its own.
    # The package itself and learnkit.sandbox (what a user catches around ``sandbox.start``) name some again.
    offered = []
    for info in pkgutil.walk_packages(learnkit.__path__, "learnkit."):
        if info.name in ("learnkit.errors", "learnkit.sandbox") or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if isinstance(obj, type) and issubclass(obj, BaseException) and obj.__module__ == "learnkit.errors":
                offered.append(f"{info.name}.{name}")
    assert offered == []


# --- pickling ----------------------------------------------------------------------------------


def sample(cls: type[BaseException]) -> BaseException:
    """An instance of each class, built the way learnkit builds it."""
    if issubclass(cls, GraphError):
        if cls.row is not None:
            fill: dict[str, Any] = {"fieldName": "completionPercentage", "noOfMinutes": 2}
            return error_from_response(
                cls.row.status, error_body(cls, request_id="req-1", **fill), {"Retry-After": "7", "request-id": "r"}
            )
        return cls("something went wrong", status=cls.default_status or 418, code="odd", request_id="req-2")
    factories: dict[str, Any] = {
        "InvalidInputError": lambda: cls("completionPercentage", "invalid", "must be 0..100", ()),
        "InvalidRowsError": lambda: cls([(3, "completionPercentage", "'x' is not a whole number")]),
        "LoadError": lambda: cls("activities.csv row 4", "learnerUserId", "is needed to load the activity"),
        "NetworkError": lambda: cls("POST", "https://graph.example/v1.0/x", 1, True, "timed out"),
        "UnexpectedResponseError": lambda: cls("https://graph.example/v1.0/x", 200, "text/html", "not JSON", "r-3"),
        "SignInError": lambda: cls("https://login.example/contoso", "timed out"),
        "MissingExtraError": lambda: cls("learnkit.sandbox", "fastapi"),
        "UntrustedURLError": lambda: cls("https://elsewhere.example/v1.0/x", "https://graph.example/v1.0"),
        "ServiceMismatchError": lambda: cls("r-1", "127.0.0.1 tenant ab12", "127.0.0.1 tenant cd34"),
    }
    factory = factories.get(cls.__name__, lambda: cls("a message"))
    return factory()  # type: ignore[no-any-return]


@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: c.__name__)
def test_every_error_pickles_with_its_attributes(cls: type[BaseException]) -> None:
    error = sample(cls)
    assert type(error) is cls
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert str(copy) == str(error) and copy.args == error.args
    assert vars(copy) == vars(error)


# --- advice names only what exists --------------------------------------------------------------


def advice_texts() -> dict[str, str]:
    texts: dict[str, str] = {}
    for cls in error_classes():
        if issubclass(cls, GraphError):
            texts[cls.__name__] = cls.row.advice if cls.row else cls.default_advice
    texts["NetworkError.ADVICE_RETRY"] = NetworkError.ADVICE_RETRY
    texts["NetworkError.ADVICE_LOOK_UP"] = NetworkError.ADVICE_LOOK_UP
    texts["UnexpectedResponseError.ADVICE"] = UnexpectedResponseError.ADVICE
    bare = GraphClient("https://graph.example/v1.0")
    for operation in ("update_activity", "list_providers"):
        with pytest.raises(learnkit.TokenError) as info:
            bare.token_for(operation)
        texts[f"TokenError({operation})"] = str(info.value)
    return texts


def resolve(dotted: str) -> Any:
    """``learnkit.x.y``, or a name exported by learnkit and its attributes; AttributeError if none."""
    parts = dotted.split(".")
    if parts[0] == "learnkit":
        parts = parts[1:]
        obj: Any = learnkit
        for i, part in enumerate(parts):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                obj = importlib.import_module("learnkit." + ".".join(parts[: i + 1]))
        return obj
    obj = getattr(learnkit, parts[0])
    for part in parts[1:]:
        obj = getattr(obj, part)
    return obj


def parameters(obj: Any) -> set[str]:
    return set(inspect.signature(obj).parameters)


def known_names() -> set[str]:
    """Every parameter of learnkit's public callables, and every public attribute of its classes."""
    names: set[str] = set()
    for name in learnkit.__all__:
        obj = getattr(learnkit, name)
        if callable(obj):
            with contextlib.suppress(TypeError, ValueError):
                names |= parameters(obj)
        if isinstance(obj, type):
            names |= {n for n in dir(obj) if not n.startswith("_")}
            for method in vars(obj).values():
                if callable(method):
                    with contextlib.suppress(TypeError, ValueError):
                        names |= parameters(method)
    names |= set(vars(GraphClient("https://graph.example/v1.0")))
    names |= set(learnkit.PERMISSIONS)  # operation names
    for cls in error_classes():
        names |= set(vars(sample(cls)))
    return names


def graph_names() -> set[str]:
    """Graph's property and entity names the models know (camelCase)."""
    names: set[str] = set()
    for name in dir(learnkit.models):
        model = getattr(learnkit.models, name)
        if isinstance(model, type) and hasattr(model, "model_fields"):
            names.add(name[:1].lower() + name[1:])
            for field_name, info in model.model_fields.items():
                names |= {field_name, info.alias or field_name}
    return names


def calls_in(text: str) -> Iterator[str]:
    """Every ``Name(...)``/``a.b(...)`` written in a text, parentheses balanced."""
    for found in re.finditer(r"[A-Za-z_][\w.]*\(", text):
        depth = 0
        for end in range(found.end() - 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                yield text[found.start() : end + 1]
                break


def problems_in(text: str, known: set[str], graph: set[str]) -> list[str]:
    problems: list[str] = []
    rest = text
    for expression in calls_in(text):
        rest = rest.replace(expression, " ")
        tree = ast.parse(expression, mode="eval")
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            target = ast.unparse(node.func)
            try:
                function = resolve(target)
            except (AttributeError, ModuleNotFoundError):
                problems.append(f"{target} does not exist")
                continue
            accepted = parameters(function)
            problems += [f"{target} takes no {k.arg}=" for k in node.keywords if k.arg not in accepted]
            problems += [
                f"{target} does not take {ast.unparse(a)}"
                for a in node.args
                if isinstance(a, ast.Name) and a.id not in accepted
            ]
    for dotted in re.findall(r"\blearnkit(?:\.\w+)+", rest):
        try:
            resolve(dotted.rstrip("."))
        except (AttributeError, ModuleNotFoundError):
            problems.append(f"{dotted} does not exist")
    for word in re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", rest):
        if word not in known:
            problems.append(f"{word} is not a parameter or attribute of learnkit")
    for word in re.findall(r"\b[a-z]+[A-Z]\w*\b", rest):
        snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), word)
        if word not in graph and snake not in known:
            problems.append(f"{word} is not a Graph property or entity learnkit knows")
    return problems


def test_every_advice_names_only_what_exists() -> None:
    known, graph = known_names(), graph_names()
    problems = {name: found for name, text in advice_texts().items() if (found := problems_in(text, known, graph))}
    assert problems == {}


def test_the_advice_check_catches_what_does_not_exist() -> None:
    known, graph = known_names(), graph_names()
    assert problems_in("raise GraphClient(max_retry_wait=...)", known, graph) == [
        "GraphClient takes no max_retry_wait="
    ]
    assert problems_in("use GraphClient.update_activity(reg, act, body)", known, graph) == [
        "GraphClient.update_activity does not exist"
    ]
    assert problems_in("see learnkit.nowhere", known, graph) == ["learnkit.nowhere does not exist"]
    assert problems_in("set max_retry_wiat", known, graph) != []
    assert problems_in("set isCourseActivitySyncEnabeld", known, graph) != []
    ok = "GraphClient(retry=RetryPolicy(max_retry_wait=...)) or learnkit.permissions, retry_after, learnerUserId"
    assert problems_in(ok, known, graph) == []


# --- notebook cards -----------------------------------------------------------------------------

COLOUR = re.compile(
    r"#[0-9a-fA-F]{3,8}\b|rgba?\(|hsla?\(|:\s*(?:red|green|blue|black|white|gray|grey|orange|yellow)\b", re.I
)


def test_a_graph_error_card_shows_status_code_advice_and_request_id() -> None:
    error = error_from_response(
        429,
        error_body(learnkit.TooManyRequestsError, request_id="req-42", noOfMinutes=1),
        {"Retry-After": "30"},
    )
    card = error._repr_html_()
    for part in ("429", "tooManyRequests", "req-42", "TooManyRequestsError", "retry after", "30 s"):
        assert part in card
    assert "RetryPolicy(max_retry_wait=...)" in card
    assert not COLOUR.search(card) and "var(--jp-" in card


def test_cards_escape_what_the_service_sent_and_never_show_a_token() -> None:
    token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-part.sig"
    error = error_from_response(400, {"error": {"code": "x", "message": "<script>alert(1)</script>"}})
    card = error._repr_html_()
    assert "<script>" not in card and "&lt;script&gt;" in card
    assert token not in card and "Bearer" not in card


def test_an_update_result_card_shows_the_body_and_ids() -> None:
    result = UpdateResult(
        status=204,
        body={"@odata.type": "#microsoft.graph.learningAssignment", "status": "completed", "notes": "<b>ok</b>"},
        request_id="req-7",
        client_request_id="crid-7",
        attempts=2,
    )
    card = result._repr_html_()
    for part in ("204", "req-7", "crid-7", "completed", "&lt;b&gt;ok&lt;/b&gt;"):
        assert part in card
    assert not COLOUR.search(card) and "var(--jp-" in card
    dry = UpdateResult(status=None, body={"status": "completed"}, dry_run=True)._repr_html_()
    assert "Dry run" in dry and "completed" in dry and "request-id" not in dry


@pytest.mark.parametrize(
    "cls", [c for c in error_classes() if issubclass(c, learnkit.LearnkitError)], ids=lambda c: c.__name__
)
def test_every_learnkit_error_shows_a_card(cls: type[BaseException]) -> None:
    error = sample(cls)
    assert isinstance(error, learnkit.LearnkitError)
    card = error._repr_html_()
    assert type(error).__name__ in card and not COLOUR.search(card)
    if isinstance(error, learnkit.InvalidInputError):
        assert error.field in card
