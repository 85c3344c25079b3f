package statuspoll_test

import (
	"time"

	"github.com/d365sap/d365sap/shared/trigger"
)

func triggerTimer() trigger.Timer { return trigger.Timer{Now: time.Now()} }
