package identity

import (
	"context"
	"errors"

	"github.com/nubo-cloud/nubo/internal/store"
)

// kindConsumer is the record kind of OAuth1 consumers.
const kindConsumer = "identity.oauth1_consumer"

// Consumer is an OAuth1 consumer (Keystone's OS-OAUTH1 extension).
//
// Nubo implements only the consumer CRUD of OS-OAUTH1; the OAuth1 token flow
// (request tokens, authorization, access tokens and authenticating with
// them) is not implemented.
type Consumer struct {
	ID string `json:"id"`
	// Description is nil when the consumer has none (Keystone shows null).
	Description *string `json:"description"`
	// Secret is kept as issued, as Keystone keeps it: OAuth1's HMAC-SHA1
	// signatures are verified with the plain shared secret. It is shown to
	// the caller only in the response to the create request.
	Secret string         `json:"secret"`
	Extra  map[string]any `json:"extra,omitempty"`
}

// CreateConsumer stores a consumer with a generated ID and secret; the
// returned consumer carries the secret.
func (s *Service) CreateConsumer(ctx context.Context, c Consumer) (*Consumer, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	c.ID = hexID()
	c.Secret = hexID()
	err := s.write(ctx, func(tx store.Tx) error {
		return conflictIf(tx.Create(store.Record{Kind: kindConsumer, ID: c.ID, Value: c}), "consumer", "Duplicate ID, "+c.ID)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// GetConsumer returns a consumer (with its secret: callers must not show it).
func (s *Service) GetConsumer(ctx context.Context, id string) (*Consumer, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var c *Consumer
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		c, err = get[Consumer](tx, kindConsumer, "consumer", id)
		return err
	})
	return c, err
}

// ListConsumers returns every consumer.
func (s *Service) ListConsumers(ctx context.Context) ([]Consumer, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var out []Consumer
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[Consumer](tx, kindConsumer, store.ListOptions{})
		return err
	})
	return out, err
}

// UpdateConsumer applies mutate to a consumer; its ID and secret cannot change.
func (s *Service) UpdateConsumer(ctx context.Context, id string, mutate func(*Consumer) error) (*Consumer, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var c *Consumer
	err := s.write(ctx, func(tx store.Tx) (err error) {
		if c, err = get[Consumer](tx, kindConsumer, "consumer", id); err != nil {
			return err
		}
		secret := c.Secret
		if err := mutate(c); err != nil {
			return err
		}
		c.ID, c.Secret = id, secret
		return tx.Update(store.Record{Kind: kindConsumer, ID: id, Value: c})
	})
	return c, err
}

// DeleteConsumer removes a consumer.
func (s *Service) DeleteConsumer(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if err := tx.Delete(kindConsumer, id); errors.Is(err, store.ErrNotFound) {
			return notFound("consumer", id)
		} else {
			return err
		}
	})
}
