"""A one-zone DNS server for scripts/test-packaging.sh: answers A queries
for *.amazonaws.com with 127.0.0.1, everything else with no answer, and
writes each name asked to stdout (so the test sees that DNS was used).

    python3 dns.py 127.0.0.1 53
"""

import socket
import struct
import sys

addr, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((addr, port))
print(f"dns listening on {addr}:{port}", flush=True)
while True:
    q, peer = s.recvfrom(512)
    if len(q) < 12:
        continue
    (qid,) = struct.unpack(">H", q[:2])
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i + 1 : i + 1 + q[i]].decode("ascii", "replace"))
        i += 1 + q[i]
    qtype, _ = struct.unpack(">HH", q[i + 1 : i + 5])
    question = q[12 : i + 5]
    name = ".".join(labels).lower()
    print(f"query {qtype} {name}", flush=True)
    answers = b""
    if qtype == 1 and name.endswith("amazonaws.com"):
        answers = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
    header = struct.pack(">HHHHHH", qid, 0x8180, 1, 1 if answers else 0, 0, 0)
    s.sendto(header + question + answers, peer)
