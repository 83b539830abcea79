package qmp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// ErrClosed is returned once the connection is closed or lost (for example
// because QEMU exited).
var ErrClosed = errors.New("qmp: connection closed")

// Error is an error reply from QEMU.
type Error struct {
	Class string `json:"class"`
	Desc  string `json:"desc"`
}

func (e *Error) Error() string { return "qmp: " + e.Class + ": " + e.Desc }

// IsClass reports whether err is a QMP error of class class (e.g. "DeviceNotFound").
func IsClass(err error, class string) bool {
	var e *Error
	return errors.As(err, &e) && e.Class == class
}

// Event is an asynchronous QMP event.
type Event struct {
	Name string          `json:"event"`
	Data json.RawMessage `json:"data,omitempty"`
	Time time.Time       `json:"-"`
}

// Greeting is QEMU's banner.
type Greeting struct {
	QMP struct {
		Version struct {
			QEMU struct {
				Major int `json:"major"`
				Minor int `json:"minor"`
				Micro int `json:"micro"`
			} `json:"qemu"`
			Package string `json:"package"`
		} `json:"version"`
		Capabilities []string `json:"capabilities"`
	} `json:"QMP"`
}

// Version returns "major.minor.micro".
func (g Greeting) Version() string {
	v := g.QMP.Version.QEMU
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Micro)
}

// Conn is one QMP connection. It is safe for concurrent use.
type Conn struct {
	conn     net.Conn
	greeting Greeting

	wmu sync.Mutex // serializes writes

	mu      sync.Mutex
	nextID  uint64
	pending map[string]chan reply
	subs    map[*Subscription]struct{}
	err     error // set when the reader stops

	done chan struct{}
}

type reply struct {
	Return json.RawMessage `json:"return"`
	Error  *Error          `json:"error"`
}

// message is any line QEMU sends.
type message struct {
	ID        *string         `json:"id"`
	Return    json.RawMessage `json:"return"`
	Error     *Error          `json:"error"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	Timestamp *struct {
		Seconds      int64 `json:"seconds"`
		Microseconds int64 `json:"microseconds"`
	} `json:"timestamp"`
}

// Dial connects to the QMP unix socket at path, reads the greeting and
// enters command mode. ctx bounds the whole handshake.
func Dial(ctx context.Context, path string) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	c, err := NewConn(ctx, nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// NewConn runs the handshake over an established connection and takes it
// over; Close closes it.
func NewConn(ctx context.Context, nc net.Conn) (*Conn, error) {
	c := &Conn{
		conn:    nc,
		pending: map[string]chan reply{},
		subs:    map[*Subscription]struct{}{},
		done:    make(chan struct{}),
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	r := bufio.NewReaderSize(nc, 64<<10)
	line, err := r.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &c.greeting)
		if err == nil && c.greeting.QMP.Capabilities == nil {
			err = fmt.Errorf("qmp: unexpected greeting %.100q", line)
		}
	}
	stopped := stop()
	nc.SetDeadline(time.Time{})
	if err != nil || !stopped {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("qmp: greeting: %w", err)
	}
	go c.readLoop(r)
	if err := c.Execute(ctx, "qmp_capabilities", nil, nil); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Greeting returns QEMU's banner.
func (c *Conn) Greeting() Greeting { return c.greeting }

// Done is closed when the connection is closed or lost.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close closes the connection; pending Execute calls return ErrClosed.
func (c *Conn) Close() error {
	err := c.conn.Close()
	<-c.done
	return err
}

func (c *Conn) readLoop(r *bufio.Reader) {
	var err error
	for {
		var line []byte
		line, err = r.ReadBytes('\n')
		if len(line) > 0 {
			var m message
			if jerr := json.Unmarshal(line, &m); jerr == nil {
				c.dispatch(&m)
			}
		}
		if err != nil {
			break
		}
	}
	c.mu.Lock()
	c.err = ErrClosed
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	for s := range c.subs {
		s.closeLocked()
	}
	c.mu.Unlock()
	close(c.done)
}

func (c *Conn) dispatch(m *message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.Event != "" {
		ev := Event{Name: m.Event, Data: m.Data, Time: time.Now()}
		if m.Timestamp != nil && m.Timestamp.Seconds > 0 {
			ev.Time = time.Unix(m.Timestamp.Seconds, m.Timestamp.Microseconds*1000)
		}
		for s := range c.subs {
			s.offer(ev)
		}
		return
	}
	if m.ID == nil {
		return // a reply without id: we always send ids, so not ours
	}
	if ch, ok := c.pending[*m.ID]; ok {
		delete(c.pending, *m.ID)
		ch <- reply{Return: m.Return, Error: m.Error}
	}
}

// Execute runs command with args (any JSON-marshalable value, or nil) and
// decodes the "return" value into out (if non-nil). A QEMU error reply is
// returned as *Error. If ctx ends first, Execute returns ctx's error; the
// command may still run.
func (c *Conn) Execute(ctx context.Context, command string, args, out any) error {
	req := struct {
		Execute   string `json:"execute"`
		Arguments any    `json:"arguments,omitempty"`
		ID        string `json:"id"`
	}{Execute: command, Arguments: args}

	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	c.nextID++
	req.ID = strconv.FormatUint(c.nextID, 10)
	ch := make(chan reply, 1)
	c.pending[req.ID] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, req.ID)
		c.mu.Unlock()
	}

	b, err := json.Marshal(req)
	if err != nil {
		forget()
		return fmt.Errorf("qmp: %s: %w", command, err)
	}
	b = append(b, '\n')
	c.wmu.Lock()
	if dl, ok := ctx.Deadline(); ok {
		c.conn.SetWriteDeadline(dl)
	}
	_, err = c.conn.Write(b)
	c.conn.SetWriteDeadline(time.Time{})
	c.wmu.Unlock()
	if err != nil {
		forget()
		select {
		case <-c.done:
			return ErrClosed
		default:
		}
		return fmt.Errorf("qmp: %s: %w", command, err)
	}

	select {
	case r, ok := <-ch:
		if !ok {
			return ErrClosed
		}
		if r.Error != nil {
			return fmt.Errorf("%s: %w", command, r.Error)
		}
		if out != nil && len(r.Return) > 0 {
			if err := json.Unmarshal(r.Return, out); err != nil {
				return fmt.Errorf("qmp: %s: decode reply: %w", command, err)
			}
		}
		return nil
	case <-ctx.Done():
		forget()
		return ctx.Err()
	}
}

// Subscription receives the events its filter accepts, from Subscribe until
// Close. Events are buffered (up to 64; older ones are dropped beyond that).
type Subscription struct {
	c      *Conn
	filter func(Event) bool
	ch     chan Event
	closed bool
}

// Subscribe registers for events whose name is one of names (all events if
// names is empty) and that match(ev) accepts (if match is non-nil).
func (c *Conn) Subscribe(match func(Event) bool, names ...string) *Subscription {
	s := &Subscription{c: c, ch: make(chan Event, 64)}
	s.filter = func(ev Event) bool {
		if len(names) > 0 {
			found := false
			for _, n := range names {
				found = found || n == ev.Name
			}
			if !found {
				return false
			}
		}
		return match == nil || match(ev)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		s.closeLocked()
		return s
	}
	c.subs[s] = struct{}{}
	return s
}

// offer is called with c.mu held.
func (s *Subscription) offer(ev Event) {
	if s.closed || !s.filter(ev) {
		return
	}
	select {
	case s.ch <- ev:
	default: // full: drop the oldest
		select {
		case <-s.ch:
		default:
		}
		s.ch <- ev
	}
}

func (s *Subscription) closeLocked() {
	if !s.closed {
		s.closed = true
		close(s.ch)
		delete(s.c.subs, s)
	}
}

// C returns the event channel; it is closed when the subscription or the
// connection is closed.
func (s *Subscription) C() <-chan Event { return s.ch }

// Next waits for the next matching event.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	select {
	case ev, ok := <-s.ch:
		if !ok {
			return Event{}, ErrClosed
		}
		return ev, nil
	case <-ctx.Done():
		return Event{}, ctx.Err()
	}
}

// Close unregisters the subscription.
func (s *Subscription) Close() {
	s.c.mu.Lock()
	s.closeLocked()
	s.c.mu.Unlock()
}
