package netagent_test

import (
	"github.com/nubo-cloud/nubo/internal/agent"
	"github.com/nubo-cloud/nubo/internal/agent/netagent"
)

// The agent core drives this package through its NetConverger interface.
var _ agent.NetConverger = (*netagent.Agent)(nil)
