package compute

import (
	"slices"
)

// Server lifecycle, as Nova models it. The API changes TaskState (and, for
// changes that touch no guest, VMState) in one transaction; the host side
// (the fake host today, the agent later) performs the task and reports the
// outcome, which clears TaskState:
//
//	          create                 spawning (host)
//	 (none) ─────────► building ─────────────────────► active ◄──────┐
//	           scheduling (control)                     │  ▲          │
//	                                     powering-off   │  │ powering-on
//	                                                    ▼  │          │
//	   paused ◄─pausing── active ──suspending─► suspended  stopped    │
//	   rescued ◄─rescuing─ active/stopped/error                       │
//	   resized ◄─resize_prep→resize_migrated── active/stopped         │
//	   shelved_offloaded ◄─shelving── active/stopped/paused/suspended │
//	   shelved_offloaded ──unshelving──────────────────────────────────┘
//	   any ──deleting──► deleted (404 from then on)
//
// vm_state × task_state → status is statusOf; which states allow each
// action is actionRules.

// vm_states.
const (
	VMActive           = "active"
	VMBuilding         = "building"
	VMPaused           = "paused"
	VMSuspended        = "suspended"
	VMStopped          = "stopped"
	VMRescued          = "rescued"
	VMResized          = "resized"
	VMSoftDeleted      = "soft-delete"
	VMDeleted          = "deleted"
	VMError            = "error"
	VMShelved          = "shelved"
	VMShelvedOffloaded = "shelved_offloaded"
)

// task_states.
const (
	TaskScheduling        = "scheduling"
	TaskSpawning          = "spawning"
	TaskImageSnapshot     = "image_snapshot"
	TaskUpdatingPassword  = "updating_password"
	TaskResizePrep        = "resize_prep"
	TaskResizeMigrated    = "resize_migrated"
	TaskResizeReverting   = "resize_reverting"
	TaskRebooting         = "rebooting"
	TaskRebootingHard     = "rebooting_hard"
	TaskPausing           = "pausing"
	TaskUnpausing         = "unpausing"
	TaskSuspending        = "suspending"
	TaskResuming          = "resuming"
	TaskPoweringOff       = "powering-off"
	TaskPoweringOn        = "powering-on"
	TaskRescuing          = "rescuing"
	TaskUnrescuing        = "unrescuing"
	TaskRebuilding        = "rebuilding"
	TaskMigrating         = "migrating"
	TaskDeleting          = "deleting"
	TaskShelving          = "shelving"
	TaskShelvingOffload   = "shelving_offloading"
	TaskUnshelving        = "unshelving"
	TaskInterfaceAttach   = "interface_attaching"
	TaskInterfaceDetach   = "interface_detaching"
	taskResizeDestination = "resize_migrating"
)

// power_states (Nova's integers).
const (
	PowerNoState   = 0
	PowerRunning   = 1
	PowerPaused    = 3
	PowerShutdown  = 4
	PowerCrashed   = 6
	PowerSuspended = 7
)

// statusOf returns the status clients poll (Nova's vm_state/task_state
// map); putServer stores it in Server.Status.
func statusOf(vm, task string) string {
	switch vm {
	case VMActive:
		switch task {
		case TaskRebooting:
			return "REBOOT"
		case TaskRebootingHard:
			return "HARD_REBOOT"
		case TaskUpdatingPassword:
			return "PASSWORD"
		case TaskRebuilding:
			return "REBUILD"
		case TaskMigrating:
			return "MIGRATING"
		case TaskResizePrep, taskResizeDestination, TaskResizeMigrated:
			return "RESIZE"
		}
		return "ACTIVE"
	case VMBuilding:
		return "BUILD"
	case VMStopped:
		switch task {
		case TaskResizePrep, taskResizeDestination, TaskResizeMigrated:
			return "RESIZE"
		case TaskRebuilding:
			return "REBUILD"
		}
		return "SHUTOFF"
	case VMResized:
		if task == TaskResizeReverting {
			return "REVERT_RESIZE"
		}
		return "VERIFY_RESIZE"
	case VMPaused:
		if task == TaskMigrating {
			return "MIGRATING"
		}
		return "PAUSED"
	case VMSuspended:
		return "SUSPENDED"
	case VMRescued:
		return "RESCUE"
	case VMError:
		if task == TaskRebuilding {
			return "REBUILD"
		}
		return "ERROR"
	case VMDeleted:
		return "DELETED"
	case VMSoftDeleted:
		return "SOFT_DELETED"
	case VMShelved:
		return "SHELVED"
	case VMShelvedOffloaded:
		return "SHELVED_OFFLOADED"
	}
	return "UNKNOWN"
}

// vmStatesOf maps a status filter back to vm_states (list ?status=).
func vmStatesOf(status string) []string {
	switch status {
	case "ACTIVE", "REBOOT", "HARD_REBOOT", "PASSWORD", "MIGRATING", "RESIZE", "REBUILD":
		return []string{VMActive}
	case "BUILD":
		return []string{VMBuilding}
	case "SHUTOFF":
		return []string{VMStopped}
	case "VERIFY_RESIZE", "REVERT_RESIZE":
		return []string{VMResized}
	case "PAUSED":
		return []string{VMPaused}
	case "SUSPENDED":
		return []string{VMSuspended}
	case "RESCUE":
		return []string{VMRescued}
	case "ERROR":
		return []string{VMError}
	case "DELETED":
		return []string{VMDeleted}
	case "SOFT_DELETED":
		return []string{VMSoftDeleted}
	case "SHELVED":
		return []string{VMShelved}
	case "SHELVED_OFFLOADED":
		return []string{VMShelvedOffloaded}
	}
	return nil
}

// actionRule is where an action may start (Nova's check_instance_state):
// VMStates nil means any vm_state; TaskStates lists the task states
// allowed besides none ("" is always allowed unless AnyTask).
type actionRule struct {
	VMStates   []string
	TaskStates []string
	// AnyTask lets the action run whatever the task state.
	AnyTask bool
	// IgnoreLock: lock does not stop the action.
	IgnoreLock bool
}

// Server actions (Nova's instance action names).
const (
	ActionCreate          = "create"
	ActionDelete          = "delete"
	ActionForceDelete     = "forceDelete"
	ActionStop            = "stop"
	ActionStart           = "start"
	ActionRebootSoft      = "reboot"
	ActionRebootHard      = "reboot-hard"
	ActionPause           = "pause"
	ActionUnpause         = "unpause"
	ActionSuspend         = "suspend"
	ActionResume          = "resume"
	ActionLock            = "lock"
	ActionUnlock          = "unlock"
	ActionRebuild         = "rebuild"
	ActionResize          = "resize"
	ActionConfirmResize   = "confirmResize"
	ActionRevertResize    = "revertResize"
	ActionCreateImage     = "createImage"
	ActionShelve          = "shelve"
	ActionShelveOffload   = "shelveOffload"
	ActionUnshelve        = "unshelve"
	ActionMigrate         = "migrate"
	ActionLiveMigrate     = "live-migration"
	ActionRescue          = "rescue"
	ActionUnrescue        = "unrescue"
	ActionResetState      = "resetState"
	ActionChangePassword  = "changePassword"
	ActionAddSecGroup     = "addSecurityGroup"
	ActionRemoveSecGroup  = "removeSecurityGroup"
	ActionConsoleOutput   = "getConsoleOutput"
	ActionRemoteConsole   = "remoteConsole"
	ActionAttachInterface = "attach_interface"
	ActionDetachInterface = "detach_interface"
	ActionUpdate          = "update"
	ActionAttachVolume    = "attach_volume"
	ActionDetachVolume    = "detach_volume"
	ActionSwapVolume      = "swap_volume"
)

// volumeStates are where Nova lets a volume be attached or detached.
var volumeStates = []string{VMActive, VMPaused, VMStopped, VMResized, VMSoftDeleted, VMShelved, VMShelvedOffloaded}

var rebootTasks = []string{TaskRebooting, TaskRebootingHard}

// actionRules is the state machine's table: which vm/task states let each
// action start (Nova's compute/api.py check_instance_state decorators).
var actionRules = map[string]actionRule{
	ActionDelete:          {AnyTask: true},
	ActionForceDelete:     {AnyTask: true},
	ActionUpdate:          {AnyTask: true},
	ActionStop:            {VMStates: []string{VMActive, VMError}},
	ActionStart:           {VMStates: []string{VMStopped}},
	ActionRebootSoft:      {VMStates: []string{VMActive}},
	ActionRebootHard:      {VMStates: []string{VMActive, VMStopped, VMPaused, VMSuspended, VMError}, TaskStates: rebootTasks},
	ActionPause:           {VMStates: []string{VMActive}},
	ActionUnpause:         {VMStates: []string{VMPaused}},
	ActionSuspend:         {VMStates: []string{VMActive}},
	ActionResume:          {VMStates: []string{VMSuspended}},
	ActionLock:            {AnyTask: true, IgnoreLock: true},
	ActionUnlock:          {AnyTask: true, IgnoreLock: true},
	ActionRebuild:         {VMStates: []string{VMActive, VMStopped, VMError}},
	ActionResize:          {VMStates: []string{VMActive, VMStopped}},
	ActionConfirmResize:   {VMStates: []string{VMResized}},
	ActionRevertResize:    {VMStates: []string{VMResized}},
	ActionCreateImage:     {VMStates: []string{VMActive, VMStopped, VMPaused, VMSuspended}},
	ActionShelve:          {VMStates: []string{VMActive, VMStopped, VMPaused, VMSuspended}},
	ActionShelveOffload:   {VMStates: []string{VMShelved}},
	ActionUnshelve:        {VMStates: []string{VMShelved, VMShelvedOffloaded}},
	ActionMigrate:         {VMStates: []string{VMActive, VMStopped}},
	ActionLiveMigrate:     {VMStates: []string{VMActive, VMPaused}},
	ActionRescue:          {VMStates: []string{VMActive, VMStopped, VMError}},
	ActionUnrescue:        {VMStates: []string{VMRescued}},
	ActionResetState:      {AnyTask: true, IgnoreLock: true},
	ActionChangePassword:  {VMStates: []string{VMActive}},
	ActionAddSecGroup:     {AnyTask: true},
	ActionRemoveSecGroup:  {AnyTask: true},
	ActionConsoleOutput:   {AnyTask: true, IgnoreLock: true},
	ActionRemoteConsole:   {AnyTask: true, IgnoreLock: true},
	ActionAttachInterface: {VMStates: []string{VMActive, VMPaused, VMStopped}},
	ActionDetachInterface: {VMStates: []string{VMActive, VMPaused, VMStopped}},
	ActionAttachVolume:    {VMStates: volumeStates},
	ActionDetachVolume:    {VMStates: volumeStates},
	ActionSwapVolume:      {VMStates: []string{VMActive, VMPaused, VMResized}},
}

// checkState returns a 409 in Nova's words unless action may start from
// the server's state. admin lets an admin act on a locked server.
func checkState(sv *Server, action string, admin bool) error {
	rule, ok := actionRules[action]
	if !ok {
		return badRequest("Unknown action %s.", action)
	}
	name := action
	if action == ActionRebootHard {
		name = ActionRebootSoft
	}
	if sv.Locked && !rule.IgnoreLock && !admin {
		return conflict("Instance %s is locked", sv.ID)
	}
	if rule.VMStates != nil && !slices.Contains(rule.VMStates, sv.VMState) {
		return conflict("Cannot '%s' instance %s while it is in vm_state %s", name, sv.ID, sv.VMState)
	}
	if !rule.AnyTask && sv.TaskState != "" && !slices.Contains(rule.TaskStates, sv.TaskState) {
		return conflict("Cannot '%s' instance %s while it is in task_state %s", name, sv.ID, sv.TaskState)
	}
	return nil
}

// Observed is what a host reports about a server after it performed the
// server's task (the agent's ServerStatus).
type Observed struct {
	VMState    string
	PowerState int
	// Gone means the guest is destroyed (after deleting or offloading).
	Gone bool
}

// HostTasks are the task states the host side performs; the control
// plane's ServerReconciler handles the others (scheduling, moves,
// finishing deletes).
var HostTasks = []string{
	TaskSpawning, TaskPoweringOff, TaskPoweringOn, TaskRebooting, TaskRebootingHard,
	TaskPausing, TaskUnpausing, TaskSuspending, TaskResuming, TaskRescuing, TaskUnrescuing,
	TaskRebuilding, TaskResizeMigrated, TaskResizeReverting, TaskMigrating, TaskShelving,
	TaskUnshelving, TaskImageSnapshot, TaskUpdatingPassword, TaskDeleting,
	TaskInterfaceAttach, TaskInterfaceDetach,
}

// Outcome is what a successful host-side task leaves the server in: the
// fake host reports it as is; a real host reports it after its driver did
// the work.
func Outcome(sv *Server) Observed {
	running := Observed{VMState: VMActive, PowerState: PowerRunning}
	back := func() Observed { // to where the task started from
		switch sv.PrevVMState {
		case VMStopped:
			return Observed{VMState: VMStopped, PowerState: PowerShutdown}
		case VMPaused:
			return Observed{VMState: VMPaused, PowerState: PowerPaused}
		case VMSuspended:
			return Observed{VMState: VMSuspended, PowerState: PowerSuspended}
		}
		return running
	}
	switch sv.TaskState {
	case TaskPoweringOff:
		return Observed{VMState: VMStopped, PowerState: PowerShutdown}
	case TaskPausing:
		return Observed{VMState: VMPaused, PowerState: PowerPaused}
	case TaskSuspending:
		return Observed{VMState: VMSuspended, PowerState: PowerSuspended}
	case TaskRescuing:
		return Observed{VMState: VMRescued, PowerState: PowerRunning}
	case TaskResizeMigrated:
		o := back()
		o.VMState = VMResized
		return o
	case TaskRebuilding, TaskResizeReverting, TaskUnrescuing, TaskImageSnapshot, TaskUpdatingPassword,
		TaskMigrating, TaskInterfaceAttach, TaskInterfaceDetach:
		if sv.TaskState == TaskUnrescuing {
			return running
		}
		o := back()
		if sv.TaskState == TaskRebuilding && sv.PrevVMState == VMError {
			o = running
		}
		return o
	case TaskShelving:
		return Observed{VMState: VMShelvedOffloaded, PowerState: PowerShutdown, Gone: true}
	case TaskDeleting:
		return Observed{VMState: sv.VMState, PowerState: PowerNoState, Gone: true}
	}
	return running // spawning, powering-on, rebooting, unpausing, resuming, unshelving
}
