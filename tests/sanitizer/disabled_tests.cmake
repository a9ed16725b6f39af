# Tests that the GRIDCAST_SANITIZE build reports as "Not Run (Disabled)"
# rather than running, each with why. CTest includes this file after
# catch_discover_tests has defined the Catch2 test cases. Only a test whose
# very subject ASan changes belongs here; one that is merely slow does not.

# It measures gridcastctl's peak RSS to prove an upload streams: the decade
# may cost less than a quarter of the file's 11 MB more than a day. ASan
# keeps freed memory in its quarantine (up to 256 MB, so that a use after
# free is caught) and pads every allocation with redzones, so the decade
# measured 170 MB over the day with nothing held. The streaming code itself
# still runs under ASan in the other upload tests.
set_tests_properties(
  "ten years of 15-minute data upload in the memory of one chunk"
  PROPERTIES DISABLED TRUE)
