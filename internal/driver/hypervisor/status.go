package hypervisor

import "time"

// State is a guest's observed state.
type State string

// Guest states.
const (
	StateNoState   State = "nostate"   // unknown, or the process is still starting
	StateRunning   State = "running"   // vCPUs running
	StatePaused    State = "paused"    // vCPUs stopped by Pause
	StateSuspended State = "suspended" // vCPUs stopped by Suspend
	StateShutdown  State = "shutdown"  // no process: never started, stopped, or the guest powered off
	StateCrashed   State = "crashed"   // no process: it died without being asked (killed, QEMU crash, guest panic)
)

// PowerState is Nova's power_state number (nova/compute/power_state.py).
type PowerState int

// Nova power states.
const (
	PowerNoState   PowerState = 0
	PowerRunning   PowerState = 1
	PowerPaused    PowerState = 3
	PowerShutdown  PowerState = 4
	PowerCrashed   PowerState = 6
	PowerSuspended PowerState = 7
)

// PowerState maps s to Nova's number.
func (s State) PowerState() PowerState {
	switch s {
	case StateRunning:
		return PowerRunning
	case StatePaused:
		return PowerPaused
	case StateSuspended:
		return PowerSuspended
	case StateShutdown:
		return PowerShutdown
	case StateCrashed:
		return PowerCrashed
	}
	return PowerNoState
}

// Status is one guest's observed state.
type Status struct {
	ID         string     `json:"id"`
	Name       string     `json:"name,omitempty"`
	State      State      `json:"state"`
	PowerState PowerState `json:"power_state"`
	// PID of the hypervisor process, 0 when stopped.
	PID int `json:"pid,omitempty"`
	// StartedAt is when the current process started (zero when stopped).
	StartedAt time.Time `json:"started_at,omitzero"`
	// Reason explains the last stop or crash ("stopped", "guest-shutdown",
	// "killed by signal 9", …); empty while running.
	Reason string `json:"reason,omitempty"`
}
