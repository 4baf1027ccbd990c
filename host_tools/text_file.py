"""Reading a text file the host tools take (a scenario, a trace): its bytes, or a
message naming the file; its text as UTF-8, or a message naming the line."""


def read_bytes(path, error):
    """error: the exception class the caller raises, with the message."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise error("cannot read %s: %s" % (path, e.strerror or e))


def decode(path, data, error, empty, kind):
    """The text of data; error with `<path> is empty: <empty>` or
    `<path> line N: byte 0x.. is not <kind>` otherwise."""
    if not data.strip():
        raise error("%s is empty: %s" % (path, empty))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise error("%s line %d: byte 0x%02x is not %s"
                    % (path, data.count(b"\n", 0, e.start) + 1, data[e.start], kind))
