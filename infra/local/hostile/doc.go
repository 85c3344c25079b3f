// Package hostile is the hostile-input suite: hundreds of malformed, oversized, mistyped, injected and misrouted
// requests and queue messages driven through the real handler under the host stand-in, with Azurite and both
// simulators. Every case asserts its answer and that nothing was created or written anywhere: no SAP order, no
// Dataverse write, no row, blob or message in storage, except what a case explicitly allows.
//
// The suite is tests only (go test ./infra/local/hostile/ under infra/local/with-azurite). Cases are tables per
// function (cases_<function>_test.go); a later function adds its own file and its cases run with the rest.
package hostile
