#!/usr/bin/python3
"""A stand-in for dkd-reconciler, for test_rec_master.py: a relay.

The test copies this file under the name dkd-reconciler into the
directory dkd uses as DKD_LIBEXEC.  dkd starts it with its channel on
fd 3; it connects to the unix socket named in relay.json beside it (the
test listens there) and copies bytes both ways until either side closes.
The test then speaks the reconciler's part of the protocol itself: it
takes the configuration, says READY, answers pings, reads the desired
state and sends reports.  Every start of the worker is a new connection.
"""

import json
import os
import select
import socket
import sys

CHANNEL_FD = 3


def main():
    here = os.path.dirname(os.path.realpath(sys.argv[0]))
    with open(os.path.join(here, "relay.json")) as f:
        path = json.load(f)["socket"]
    peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    peer.connect(path)
    chan = socket.socket(fileno=CHANNEL_FD)
    chan.setblocking(True)
    ends = {chan.fileno(): (chan, peer), peer.fileno(): (peer, chan)}
    while True:
        ready, _, _ = select.select(list(ends), [], [])
        for fd in ready:
            src, dst = ends[fd]
            data = src.recv(65536)
            if not data:
                return 0
            dst.sendall(data)


if __name__ == "__main__":
    sys.exit(main())
