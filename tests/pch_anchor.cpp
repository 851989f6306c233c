// The one source of pso_test_pch (tests/CMakeLists.txt): CMake needs a target
// with a source to build the test executables' shared precompiled header.
