package volume

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// KindMessage is the record kind of user messages.
const KindMessage = "volume.message"

// MessageTTL is how long a user message is kept (Cinder's message_ttl).
const MessageTTL = 30 * 24 * time.Hour

var errNoValidBackend = errors.New("no valid backend was found")

// Message is a user message: why an asynchronous request failed, in
// words a user can act on (Cinder's messages API, 3.3).
type Message struct {
	ID           string    `json:"id"`
	ProjectID    string    `json:"project_id"`
	RequestID    string    `json:"request_id"`
	ResourceType string    `json:"resource_type"`
	ResourceUUID string    `json:"resource_uuid"`
	EventID      string    `json:"event_id"`
	MessageLevel string    `json:"message_level"`
	UserMessage  string    `json:"user_message"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
}

func messageRecord(m *Message) store.Record {
	return store.Record{Kind: KindMessage, ID: m.ID, Ref: m.ProjectID, Value: m}
}

// recordVolumeFailure leaves a message about a volume create that failed,
// in the transaction that sets the volume's error status. Event IDs are
// Cinder's: VOLUME_<resource>_<action>_<detail>.
func (s *Service) recordVolumeFailure(tx store.Tx, v *Volume, requestID string, werr error) error {
	event, text := "VOLUME_VOLUME_004_001", "create volume from backend storage:An unknown error occurred."
	if errors.Is(werr, errNoValidBackend) {
		event, text = "VOLUME_VOLUME_001_003", "schedule allocate volume:Could not find any available weighted backend."
	}
	if requestID == "" {
		requestID = "req-" + newID()
	}
	now := s.now()
	m := &Message{ID: newID(), ProjectID: v.ProjectID, RequestID: requestID, ResourceType: "VOLUME",
		ResourceUUID: v.ID, EventID: event, MessageLevel: "ERROR", UserMessage: text,
		CreatedAt: now, ExpiresAt: now.Add(MessageTTL)}
	return tx.Create(messageRecord(m))
}

func (s *Service) getMessage(tx store.ReadTx, c *policy.Credentials, id string) (*Message, error) {
	m, err := store.Get[Message](tx, KindMessage, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (!canSee(c, m.ProjectID) || !s.now().Before(m.ExpiresAt)) {
		return nil, fault.New(fault.NotFound, "Message %s could not be found.", id)
	}
	return m, err
}

// ListMessages returns the unexpired messages of the caller's project
// (every project's for an admin), newest first.
func (s *Service) ListMessages(ctx context.Context) ([]Message, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	ref := c.ProjectID
	if c.IsReader() {
		ref = ""
	}
	var out []Message
	err = s.st.Read(ctx, func(tx store.ReadTx) error {
		all, err := store.List[Message](tx, KindMessage, store.ListOptions{Ref: ref})
		if err != nil {
			return err
		}
		now := s.now()
		for _, m := range all {
			if now.Before(m.ExpiresAt) {
				out = append(out, m)
			}
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b Message) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, err
}

// GetMessage returns one message the caller may see.
func (s *Service) GetMessage(ctx context.Context, id string) (*Message, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var m *Message
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		m, err = s.getMessage(tx, c, id)
		return err
	})
	return m, err
}

// DeleteMessage removes a message of the caller's project (or any, admin).
func (s *Service) DeleteMessage(ctx context.Context, id string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		m, err := s.getMessage(tx, c, id)
		if err != nil {
			return err
		}
		if !canWrite(c, m.ProjectID) {
			return forbidden()
		}
		return tx.Delete(KindMessage, id)
	})
}
