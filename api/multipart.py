"""Streaming multipart/form-data: parts as events while the body arrives, file bytes never
gathered (Starlette's form parser spools files to a temporary file, i.e. plaintext on disk)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

# The events are the documents domain's form parts: the upload it reads is this stream.
from lending.documents.upload import FileData, FileEnd, FileStart, FormField, FormPart
from lending.errors import InvalidInput, UnsupportedMediaType

Event = FormPart


class _Collector:
    """Turns the parser's callbacks into events (the callbacks are synchronous)."""

    def __init__(self, max_field_bytes: int, max_parts: int) -> None:
        self.events: list[Event] = []
        self.max_field_bytes = max_field_bytes
        self.max_parts = max_parts
        self.parts = 0
        self.header_field = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.name = ""
        self.is_file = False
        self.value = bytearray()

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.max_parts:
            raise InvalidInput(f"At most {self.max_parts} form parts are accepted.")
        self.headers = {}
        self.value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field = self.header_value = b""

    def on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            raise InvalidInput("A form part has no name.")
        self.name = options[b"name"].decode("utf-8", "replace")
        self.is_file = b"filename" in options
        if self.is_file:
            filename = options[b"filename"].decode("utf-8", "replace")
            self.events.append(FileStart(self.name, filename))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.is_file:
            self.events.append(FileData(data[start:end]))
            return
        self.value += data[start:end]
        if len(self.value) > self.max_field_bytes:
            raise InvalidInput(f"The form field {self.name!r} is too long.")

    def on_part_end(self) -> None:
        if self.is_file:
            self.events.append(FileEnd())
        else:
            self.events.append(FormField(self.name, self.value.decode("utf-8", "replace")))


async def form_events(
    request: Request, *, max_field_bytes: int = 1024, max_parts: int = 8
) -> AsyncIterator[Event]:
    """The parts of a multipart body, as they stream in."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise UnsupportedMediaType("Send the file as multipart/form-data.")
    boundary = params.get(b"boundary")
    if not boundary:
        raise InvalidInput("The multipart body has no boundary.")
    collector = _Collector(max_field_bytes, max_parts)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": collector.on_part_begin,
            "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end,
            "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value,
            "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            events, collector.events = collector.events, []
            for event in events:
                yield event
        parser.finalize()
    except FormParserError:
        raise InvalidInput("The multipart body is malformed.") from None
    for event in collector.events:
        yield event
