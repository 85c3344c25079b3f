package store

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

var (
	// ErrConflict matches every [*ConflictError]: the thing exists already, its ETag moved on, or a
	// lease stands in the way.
	ErrConflict = errors.New("storage conflict")
	// ErrPreconditionFailed matches the [*ConflictError]s the service answered with 412: a stale
	// If-Match ETag or a missing or wrong lease.
	ErrPreconditionFailed = errors.New("storage precondition failed")
	// ErrLeaseHeld: another holder has the blob's lease (409 LeaseAlreadyPresent).
	ErrLeaseHeld = errors.New("blob lease held by another holder")
	// ErrLeaseMissing: the blob is leased and the write carried no lease id (412 LeaseIdMissing).
	ErrLeaseMissing = errors.New("blob lease id missing")
	// ErrLeaseLost: the lease id given is not (or no longer) the blob's lease.
	ErrLeaseLost = errors.New("blob lease lost")
	// ErrNotFound: the entity, blob, table, container or queue does not exist.
	ErrNotFound = errors.New("storage resource not found")
	// ErrInvalid: the request was refused before anything was sent (bad name, too many operations...).
	ErrInvalid = errors.New("invalid storage request")
)

// ConflictError reports a 409 or 412 from the service. Code is the service's error code, for example
// EntityAlreadyExists, UpdateConditionNotSatisfied, BlobAlreadyExists, LeaseAlreadyPresent or LeaseIdMissing.
type ConflictError struct {
	Resource   string // what was addressed, e.g. "table checkpoints entity (p, r)"
	StatusCode int    // 409 or 412
	Code       string
	Err        error // the underlying *azcore.ResponseError, when there was one
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s: %s (%d %s)", e.Resource, ErrConflict, e.StatusCode, e.Code)
}

func (e *ConflictError) Unwrap() error { return e.Err }

// PreconditionFailed says the service answered 412 (stale ETag, missing or wrong lease) rather than 409.
func (e *ConflictError) PreconditionFailed() bool {
	return e.StatusCode == http.StatusPreconditionFailed
}

// Is makes errors.Is(err, ErrConflict) and the narrower sentinels work.
func (e *ConflictError) Is(target error) bool {
	switch target {
	case ErrConflict:
		return true
	case ErrPreconditionFailed:
		return e.PreconditionFailed()
	}
	return leaseSentinels[e.Code] == target
}

// leaseSentinels maps the Blob service's lease error codes to the sentinel each one matches.
var leaseSentinels = map[string]error{
	"LeaseAlreadyPresent":                   ErrLeaseHeld,
	"LeaseIdMissing":                        ErrLeaseMissing,
	"LeaseIdMismatchWithBlobOperation":      ErrLeaseLost,
	"LeaseIdMismatchWithLeaseOperation":     ErrLeaseLost,
	"LeaseIdMismatchWithContainerOperation": ErrLeaseLost,
	"LeaseLost":                             ErrLeaseLost,
	"LeaseNotPresentWithBlobOperation":      ErrLeaseLost,
	"LeaseNotPresentWithLeaseOperation":     ErrLeaseLost,
	"LeaseIsBrokenAndCannotBeRenewed":       ErrLeaseLost,
	"LeaseIsBreakingAndCannotBeAcquired":    ErrLeaseHeld,
}

// NotFoundError reports a 404; it matches [ErrNotFound].
type NotFoundError struct {
	Resource string
	Code     string // e.g. ResourceNotFound, EntityNotFound, BlobNotFound, QueueNotFound
	Err      error
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s: %s (%s)", e.Resource, ErrNotFound, e.Code)
}

func (e *NotFoundError) Unwrap() error { return e.Err }

func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// classify turns the service's answer into the typed errors above, keyed on the status code and the
// service's error code (never on message text). Anything else passes through unchanged.
func classify(err error, resource string) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return err
	}
	switch re.StatusCode {
	case http.StatusConflict, http.StatusPreconditionFailed:
		return &ConflictError{Resource: resource, StatusCode: re.StatusCode, Code: re.ErrorCode, Err: err}
	case http.StatusNotFound:
		return &NotFoundError{Resource: resource, Code: re.ErrorCode, Err: err}
	}
	return err
}

// hasCode reports whether err is a service answer with the given error code.
func hasCode(err error, code string) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.ErrorCode == code
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
