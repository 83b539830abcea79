package compute

import (
	"testing"

	"github.com/nubo-cloud/nubo/internal/fault"
)

// TestCheckState_Table walks the state machine's table: each action from a
// state it allows passes; from others it is a 409 in Nova's words.
func TestCheckState_Table(t *testing.T) {
	cases := []struct {
		name, action, vm, task string
		locked, admin          bool
		want                   string // "" = allowed, else the 409 message
	}{
		{name: "stop active", action: ActionStop, vm: VMActive},
		{name: "stop error", action: ActionStop, vm: VMError},
		{name: "stop stopped", action: ActionStop, vm: VMStopped, want: "Cannot 'stop' instance s1 while it is in vm_state stopped"},
		{name: "start stopped", action: ActionStart, vm: VMStopped},
		{name: "start active", action: ActionStart, vm: VMActive, want: "Cannot 'start' instance s1 while it is in vm_state active"},
		{name: "stop while powering off", action: ActionStop, vm: VMActive, task: TaskPoweringOff, want: "Cannot 'stop' instance s1 while it is in task_state powering-off"},
		{name: "soft reboot stopped", action: ActionRebootSoft, vm: VMStopped, want: "Cannot 'reboot' instance s1 while it is in vm_state stopped"},
		{name: "hard reboot stopped", action: ActionRebootHard, vm: VMStopped},
		{name: "hard reboot while rebooting", action: ActionRebootHard, vm: VMActive, task: TaskRebooting},
		{name: "pause active", action: ActionPause, vm: VMActive},
		{name: "pause paused", action: ActionPause, vm: VMPaused, want: "Cannot 'pause' instance s1 while it is in vm_state paused"},
		{name: "unpause paused", action: ActionUnpause, vm: VMPaused},
		{name: "suspend building", action: ActionSuspend, vm: VMBuilding, task: TaskScheduling, want: "Cannot 'suspend' instance s1 while it is in vm_state building"},
		{name: "resume suspended", action: ActionResume, vm: VMSuspended},
		{name: "resize stopped", action: ActionResize, vm: VMStopped},
		{name: "resize paused", action: ActionResize, vm: VMPaused, want: "Cannot 'resize' instance s1 while it is in vm_state paused"},
		{name: "confirm resized", action: ActionConfirmResize, vm: VMResized},
		{name: "confirm active", action: ActionConfirmResize, vm: VMActive, want: "Cannot 'confirmResize' instance s1 while it is in vm_state active"},
		{name: "shelve suspended", action: ActionShelve, vm: VMSuspended},
		{name: "unshelve offloaded", action: ActionUnshelve, vm: VMShelvedOffloaded},
		{name: "unshelve active", action: ActionUnshelve, vm: VMActive, want: "Cannot 'unshelve' instance s1 while it is in vm_state active"},
		{name: "rescue error", action: ActionRescue, vm: VMError},
		{name: "unrescue active", action: ActionUnrescue, vm: VMActive, want: "Cannot 'unrescue' instance s1 while it is in vm_state active"},
		{name: "delete building", action: ActionDelete, vm: VMBuilding, task: TaskScheduling},
		{name: "stop locked", action: ActionStop, vm: VMActive, locked: true, want: "Instance s1 is locked"},
		{name: "stop locked by admin", action: ActionStop, vm: VMActive, locked: true, admin: true},
		{name: "unlock locked", action: ActionUnlock, vm: VMActive, locked: true},
		{name: "delete locked", action: ActionDelete, vm: VMActive, locked: true, want: "Instance s1 is locked"},
		{name: "snapshot paused", action: ActionCreateImage, vm: VMPaused},
		{name: "live migrate stopped", action: ActionLiveMigrate, vm: VMStopped, want: "Cannot 'live-migration' instance s1 while it is in vm_state stopped"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sv := &Server{ID: "s1", VMState: tc.vm, TaskState: tc.task, Locked: tc.locked}
			err := checkState(sv, tc.action, tc.admin)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want allowed", err)
				}
				return
			}
			fe := fault.As(err)
			if fe == nil || fe.Kind != fault.Conflict || fe.Msg != tc.want {
				t.Fatalf("got %v, want 409 %q", err, tc.want)
			}
		})
	}
}

// TestStatusOf_Table checks the status strings clients poll.
func TestStatusOf_Table(t *testing.T) {
	cases := []struct{ vm, task, want string }{
		{VMBuilding, TaskScheduling, "BUILD"},
		{VMActive, "", "ACTIVE"},
		{VMActive, TaskRebooting, "REBOOT"},
		{VMActive, TaskRebootingHard, "HARD_REBOOT"},
		{VMActive, TaskRebuilding, "REBUILD"},
		{VMActive, TaskResizePrep, "RESIZE"},
		{VMActive, TaskPoweringOff, "ACTIVE"},
		{VMStopped, "", "SHUTOFF"},
		{VMResized, "", "VERIFY_RESIZE"},
		{VMResized, TaskResizeReverting, "REVERT_RESIZE"},
		{VMPaused, "", "PAUSED"},
		{VMSuspended, "", "SUSPENDED"},
		{VMRescued, "", "RESCUE"},
		{VMShelvedOffloaded, "", "SHELVED_OFFLOADED"},
		{VMError, "", "ERROR"},
		{VMDeleted, "", "DELETED"},
	}
	for _, tc := range cases {
		if got := statusOf(tc.vm, tc.task); got != tc.want {
			t.Errorf("statusOf(%s, %s) = %s, want %s", tc.vm, tc.task, got, tc.want)
		}
	}
}

// TestOutcome_Table checks what each host task leaves behind.
func TestOutcome_Table(t *testing.T) {
	cases := []struct {
		task, prev string
		want       Observed
	}{
		{TaskSpawning, "", Observed{VMState: VMActive, PowerState: PowerRunning}},
		{TaskPoweringOff, VMActive, Observed{VMState: VMStopped, PowerState: PowerShutdown}},
		{TaskPausing, VMActive, Observed{VMState: VMPaused, PowerState: PowerPaused}},
		{TaskSuspending, VMActive, Observed{VMState: VMSuspended, PowerState: PowerSuspended}},
		{TaskRebuilding, VMStopped, Observed{VMState: VMStopped, PowerState: PowerShutdown}},
		{TaskResizeMigrated, VMStopped, Observed{VMState: VMResized, PowerState: PowerShutdown}},
		{TaskImageSnapshot, VMPaused, Observed{VMState: VMPaused, PowerState: PowerPaused}},
		{TaskShelving, VMActive, Observed{VMState: VMShelvedOffloaded, PowerState: PowerShutdown, Gone: true}},
		{TaskUnrescuing, VMStopped, Observed{VMState: VMActive, PowerState: PowerRunning}},
	}
	for _, tc := range cases {
		got := Outcome(&Server{TaskState: tc.task, PrevVMState: tc.prev})
		if got != tc.want {
			t.Errorf("Outcome(%s from %s) = %+v, want %+v", tc.task, tc.prev, got, tc.want)
		}
	}
}
