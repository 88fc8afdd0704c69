#!/usr/bin/python3
"""A misbehaving client program for tests/integration/client_adapter.sh: it runs the real one
(workloads/examples/redis_client.py, the arguments given) and passes lines through, but at the
30th operation an even-numbered program writes a malformed line instead of the answer and an
odd-numbered one exits with status 3. Faultline must end those operations as info/fail, restart
the program and say so."""
import os
import subprocess
import sys

real = subprocess.Popen(["/usr/bin/python3"] + sys.argv[1:], stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE, text=True)
odd = int(os.environ["FAULTLINE_WORKER"]) % 2 == 1
for n, line in enumerate(sys.stdin, 1):
    if n == 30 and odd:
        sys.exit(3)
    real.stdin.write(line)
    real.stdin.flush()
    answer = real.stdout.readline()
    sys.stdout.write("Traceback (not JSON)\n" if n == 30 else answer)
    sys.stdout.flush()
