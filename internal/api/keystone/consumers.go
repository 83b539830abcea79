package keystone

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/identity"
)

// OS-OAUTH1: only the consumer CRUD is served; the OAuth1 token flow
// (request_token, authorize, access_token and the oauth1 auth method) is not
// implemented.

func consumerView(r *http.Request, c *identity.Consumer) view {
	var desc any
	if c.Description != nil {
		desc = *c.Description
	}
	return withExtra(view{
		"id": c.ID, "description": desc, "links": self(r, "/OS-OAUTH1/consumers/"+c.ID),
	}, c.Extra)
}

var consumerFields = []string{"description", "secret"}

func applyConsumer(f fields, c *identity.Consumer, create bool) error {
	if !create {
		if len(f) == 0 {
			return invalid("{} does not have enough properties")
		}
		if f.has("secret") {
			return invalid("Invalid input for field 'secret': the secret of a consumer cannot be changed")
		}
	}
	if f.has("description") {
		if f.isNull("description") {
			c.Description = nil
		} else {
			var d string
			if err := f.str("description", &d, false); err != nil {
				return err
			}
			c.Description = &d
		}
	}
	c.Extra = f.extra(c.Extra, consumerFields...)
	return nil
}

func (a *api) createConsumer(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "consumer")
	if err != nil {
		return err
	}
	var c identity.Consumer
	if err := applyConsumer(f, &c, true); err != nil {
		return err
	}
	out, err := a.id.CreateConsumer(r.Context(), c)
	if err != nil {
		return err
	}
	v := consumerView(r, out)
	// The secret is shown once, here.
	v["secret"] = out.Secret
	writeOne(w, http.StatusCreated, "consumer", v)
	return nil
}

func (a *api) listConsumers(w http.ResponseWriter, r *http.Request) error {
	cs, err := a.id.ListConsumers(r.Context())
	if err != nil {
		return err
	}
	views := make([]view, 0, len(cs))
	for _, c := range cs {
		views = append(views, consumerView(r, &c))
	}
	writeList(w, r, "consumers", views)
	return nil
}

func (a *api) getConsumer(w http.ResponseWriter, r *http.Request) error {
	c, err := a.id.GetConsumer(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "consumer", consumerView(r, c))
	return nil
}

func (a *api) updateConsumer(w http.ResponseWriter, r *http.Request) error {
	f, err := decodeResource(w, r, "consumer")
	if err != nil {
		return err
	}
	c, err := a.id.UpdateConsumer(r.Context(), r.PathValue("id"), func(c *identity.Consumer) error {
		if id := ""; f.has("id") {
			if err := f.str("id", &id, false); err != nil || id != c.ID {
				return invalid("Cannot change consumer ID")
			}
		}
		return applyConsumer(f, c, false)
	})
	if err != nil {
		return err
	}
	writeOne(w, http.StatusOK, "consumer", consumerView(r, c))
	return nil
}

func (a *api) deleteConsumer(w http.ResponseWriter, r *http.Request) error {
	if err := a.id.DeleteConsumer(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
