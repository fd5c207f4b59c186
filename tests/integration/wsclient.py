"""A minimal RFC 6455 client for the canvas tests, standard library only.

It speaks the protocol one frame at a time so that tests can also break
it on purpose: unmasked frames, fragments, reserved bits, frames sent one
byte at a time.  Frames are read from a buffer, so a test sees exactly
what the server sent, in order.
"""

import base64
import hashlib
import json
import os
import socket
import struct
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA


class WsError(Exception):
    pass


class Closed(Exception):
    """The server closed the WebSocket: code (None: no close frame) and
    reason."""

    def __init__(self, code, reason):
        super().__init__("closed: %r %r" % (code, reason))
        self.code = code
        self.reason = reason


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()) \
        .decode()


def handshake_request(path, key, host="127.0.0.1", extra=None, omit=()):
    h = {
        "Host": host,
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": key,
        "Sec-WebSocket-Version": "13",
    }
    for k in omit:
        h.pop(k, None)
    h.update(extra or {})
    lines = ["GET %s HTTP/1.1" % path] + ["%s: %s" % kv for kv in h.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, key=None,
          length=None):
    """One frame as bytes.  length overrides the encoded length (to lie
    about it); key is the 4-byte masking key (random by default)."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = key if key is not None else os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def close_payload(code, reason=b""):
    if isinstance(reason, str):
        reason = reason.encode()
    return struct.pack("!H", code) + reason


class Ws:
    """One client connection.  connect() does the handshake."""

    def __init__(self, port, path, timeout=10):
        self.port = port
        self.path = path
        self.timeout = timeout
        self.sock = None
        self.buf = b""
        self.status = None
        self.headers = {}
        self.body = b""
        self.pongs = []
        self.closed = None      # (code, reason) once a close frame came

    # ------------------------------------------------------- handshake
    def connect(self, extra=None, omit=(), rcvbuf=None, source=None):
        """Handshake; -> the HTTP status (101 on success).  For other
        statuses the body is read (Content-Length) into self.body.
        source: the local address to connect from (a 127.x address)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.settimeout(self.timeout)
        if source is not None:
            s.bind((source, 0))
        s.connect(("127.0.0.1", self.port))
        self.sock = s
        self.key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(handshake_request(self.path, self.key, extra=extra,
                                    omit=omit))
        while b"\r\n\r\n" not in self.buf:
            d = s.recv(65536)
            if not d:
                raise WsError("EOF during the handshake: %r" % self.buf)
            self.buf += d
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ", 2)[1])
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        if self.status == 101:
            if self.headers.get("sec-websocket-accept") != \
                    accept_for(self.key):
                raise WsError("bad Sec-WebSocket-Accept: %r"
                              % self.headers)
            return self.status
        n = int(self.headers.get("content-length", "0"))
        while len(self.buf) < n:
            d = s.recv(65536)
            if not d:
                break
            self.buf += d
        self.body, self.buf = self.buf[:n], self.buf[n:]
        return self.status

    def json_body(self):
        return json.loads(self.body.decode())

    # ------------------------------------------------------------ send
    def send_raw(self, data, one_byte_at_a_time=False):
        if one_byte_at_a_time:
            for i in range(len(data)):
                self.sock.sendall(data[i:i + 1])
                time.sleep(0.001)
        else:
            self.sock.sendall(data)

    def send_frame(self, opcode, payload=b"", **kw):
        self.send_raw(frame(opcode, payload, **kw))

    def send_text(self, text):
        self.send_frame(OP_TEXT, text)

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def send(self, type_, payload=None, **kw):
        msg = {"type": type_}
        if payload is not None or kw.get("null_payload"):
            msg["payload"] = payload
        self.send_json(msg)

    def auth(self, token):
        self.send("auth", {"token": token})

    def close(self, code=1000, reason=b""):
        try:
            self.send_frame(OP_CLOSE, close_payload(code, reason))
        except OSError:
            pass

    def shutdown(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    # --------------------------------------------------------- receive
    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out waiting for a frame")
            self.sock.settimeout(left)
            d = self.sock.recv(65536)
            if not d:
                raise Closed(None, "EOF")
            self.buf += d

    def recv_frame(self, timeout=None):
        """-> (fin, opcode, payload), as the server sent it."""
        deadline = time.monotonic() + (timeout or self.timeout)
        self._fill(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        if b1 & 0x80:
            raise WsError("the server masked a frame")
        n, off = b1 & 0x7F, 2
        if n == 126:
            self._fill(4, deadline)
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._fill(10, deadline)
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._fill(off + n, deadline)
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        if b0 & 0x70:
            raise WsError("the server set reserved bits")
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def recv_message(self, timeout=None, answer_pings=True):
        """The next data message -> (opcode, bytes).  Pings are answered
        (and counted), pongs kept; a close frame raises Closed."""
        deadline = time.monotonic() + (timeout or self.timeout)
        parts, op = [], None
        while True:
            fin, opcode, payload = self.recv_frame(
                max(0.001, deadline - time.monotonic()))
            if opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] \
                    if len(payload) >= 2 else None
                self.closed = (code, payload[2:].decode("utf-8", "replace"))
                raise Closed(*self.closed)
            if opcode == OP_PING:
                if answer_pings:
                    self.send_frame(OP_PONG, payload)
                continue
            if opcode == OP_PONG:
                self.pongs.append(payload)
                continue
            if opcode != OP_CONT:
                op = opcode
            parts.append(payload)
            if fin:
                return op, b"".join(parts)

    def recv_json(self, timeout=None):
        op, data = self.recv_message(timeout)
        if op != OP_TEXT:
            raise WsError("expected a text message, got opcode %d" % op)
        return json.loads(data.decode("utf-8"))

    def recv_type(self, want, timeout=None, skip=None):
        """Messages until one of type want -> its payload.  Others are
        kept in skip (a list) if given, else they fail the check."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            m = self.recv_json(max(0.001, deadline - time.monotonic()))
            if m.get("type") == want:
                return m.get("payload")
            if skip is None:
                raise WsError("expected %r, got %r" % (want, m))
            skip.append(m)

    def expect_close(self, timeout=None):
        """Read until the server's close frame -> (code, reason); then
        answer it and expect EOF."""
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            while True:
                self.recv_message(max(0.001, deadline - time.monotonic()))
        except Closed as e:
            if e.code is None and e.reason == "EOF":
                raise WsError("EOF without a close frame")
            code, reason = e.code, e.reason
        self.close(code or 1000)
        return code, reason

    def expect_eof(self, timeout=5):
        """The server closes the TCP connection within timeout."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.sock.settimeout(left)
                if not self.sock.recv(65536):
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def nothing_for(self, seconds):
        """No data message arrives within seconds (pings are fine)."""
        try:
            m = self.recv_message(seconds)
        except socket.timeout:
            return None
        return m
