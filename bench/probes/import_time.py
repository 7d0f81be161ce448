"""Print the ns taken to import the modules named on the command line, in a fresh process."""

import sys
import time

start = time.perf_counter_ns()
for name in sys.argv[1:]:
    __import__(name)
print(time.perf_counter_ns() - start)
