// Package hostile is the hostile-input suite: hundreds of malformed, oversized, mistyped, injected and misrouted
// requests and queue messages driven through the real handler under the host stand-in, with Azurite and both
// simulators. Every case asserts its answer and that nothing was created or written anywhere: no SAP order, no
// Dataverse write, no row, blob or message in storage, except what a case explicitly allows.
//
// The suite is tests only: make hostile runs it alone, make test with everything, and both print its count by
// class (go test shows a passing package's output only with -v, so the summary goes to D365SAP_HOSTILE_REPORT).
// Cases are tables per function (cases_<function>_test.go) listed in tables; a later function adds its own file
// there, and the suite fails while any HTTP or queue function has fewer than ten cases that run it.
package hostile
