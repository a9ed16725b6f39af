// The run-time options of the GRIDCAST_SANITIZE build, compiled into every
// binary it links (the servers that tests and scripts start included), so
// that a plain `ctest` in that build dir runs as CI does. ASAN_OPTIONS,
// UBSAN_OPTIONS and LSAN_OPTIONS in the environment still override them.
//
// LibTorch, gRPC and protobuf are Debian's uninstrumented builds: ASan
// sees their allocations but not their accesses.

extern "C" {

__attribute__((visibility("default"), used)) const char*
__asan_default_options() {
  // strict_string_checks: catch reads past a string's end in libc calls.
  // check_initialization_order: static initialisers that read an unready
  // global of another file.
  return "strict_string_checks=1:check_initialization_order=1";
}

__attribute__((visibility("default"), used)) const char*
__ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1";
}

__attribute__((visibility("default"), used)) const char*
__lsan_default_options() {
  return "suppressions=" GRIDCAST_LSAN_SUPPRESSIONS ":print_suppressions=0";
}

}  // extern "C"
