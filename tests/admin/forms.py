"""Read an admin page's form as a browser would submit it, so tests change only what they mean to."""

from __future__ import annotations

from html.parser import HTMLParser

from django.http import HttpResponse


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._select_multiple = False
        self._first_option: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        name = attributes.get("name")
        if tag == "input" and name:
            kind = attributes.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in attributes:
                    self.data.setdefault(name, []).append(attributes.get("value", "on"))
                return
            self.data.setdefault(name, []).append(attributes.get("value", ""))
        elif tag == "select" and name:
            self._select = name
            self._select_multiple = "multiple" in attributes
            self._first_option = None
            self.data.setdefault(name, [])
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = attributes.get("value", "")
            if "selected" in attributes:
                self.data[self._select].append(attributes.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            # A single select with nothing marked sends its first option, as a browser does.
            if not self._select_multiple and not self.data[self._select] and self._first_option is not None:
                self.data[self._select].append(self._first_option)
            self._select = None
        elif tag == "textarea" and self._textarea:
            # A browser drops the one newline that follows <textarea>.
            self.data[self._textarea] = ["".join(self._text).removeprefix("\n")]
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text.append(data)


def form_data(response: HttpResponse) -> dict[str, list[str] | str]:
    """The fields of the page's form with the values a browser would send unchanged."""
    reader = _FormReader()
    reader.feed(response.content.decode())
    data: dict[str, list[str] | str] = {}
    for name, values in reader.data.items():
        if "__prefix__" in name:
            continue  # the empty template form that JavaScript copies
        data[name] = values if len(values) != 1 else values[0]
    data.pop("csrfmiddlewaretoken", None)
    return data
