package hostapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TokenSource gives a Client its X-Auth-Token.
type TokenSource interface {
	// Token returns the token to send ("" sends none), authenticating
	// first if it has none or it expired.
	Token(ctx context.Context) (string, error)
	// Invalidate tells the source that the server refused tok (401): the
	// next Token call must not return it again.
	Invalidate(tok string)
}

// StaticToken is a TokenSource that always returns itself.
type StaticToken string

// Token implements TokenSource.
func (t StaticToken) Token(context.Context) (string, error) { return string(t), nil }

// Invalidate implements TokenSource; a static token cannot be renewed.
func (StaticToken) Invalidate(string) {}

// TokenFunc is a TokenSource from a function (with nothing to invalidate).
type TokenFunc func(ctx context.Context) (string, error)

// Token implements TokenSource.
func (f TokenFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// Invalidate implements TokenSource.
func (TokenFunc) Invalidate(string) {}

// Client is Control over HTTP, for agents on other machines.
//
// Every call but Wait and the image transfers is bounded by CallTimeout;
// Wait by WaitTimeout (longer than the server's bound, so a healthy server
// always answers first); image transfers only by the caller's ctx. A 401
// is retried once with a fresh token (uploads only when the reader is an
// io.Seeker, to replay it).
type Client struct {
	base   string
	tokens TokenSource
	hc     *http.Client

	// CallTimeout bounds each call other than Wait and image transfers.
	CallTimeout time.Duration
	// WaitTimeout bounds each Wait; keep it above the server's bound
	// (DefaultWaitBound).
	WaitTimeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
}

var _ Control = (*Client)(nil)

// NewClient returns a Client of the host API at baseURL (where it is
// mounted, e.g. http://10.0.0.1:8770/host/v1). tokens may be nil (no
// X-Auth-Token); hc nil means a plain http.Client. hc must not have a
// Timeout shorter than WaitTimeout, nor one at all if images are large:
// the Client bounds its calls itself.
func NewClient(baseURL string, tokens TokenSource, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("hostapi: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("hostapi: base URL %q is not an http(s) URL", baseURL)
	}
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{
		base:        strings.TrimRight(baseURL, "/"),
		tokens:      tokens,
		hc:          hc,
		CallTimeout: time.Minute,
		WaitTimeout: DefaultWaitBound + 20*time.Second,
		UserAgent:   "nubo-hostapi",
	}, nil
}

// Register implements Control.
func (c *Client) Register(ctx context.Context, h Host) (string, error) {
	var out registerResponse
	if err := c.call(ctx, http.MethodPost, "/hosts", h, &out); err != nil {
		return "", fmt.Errorf("register host %s: %w", h.Name, err)
	}
	return out.HostID, nil
}

// State implements Control.
func (c *Client) State(ctx context.Context, hostID string) (*State, error) {
	var st State
	if err := c.call(ctx, http.MethodGet, "/hosts/"+url.PathEscape(hostID)+"/state", nil, &st); err != nil {
		return nil, fmt.Errorf("state of host %s: %w", hostID, err)
	}
	return &st, nil
}

// Wait implements Control. The server answers after its bound even when
// nothing changed: then the revision returned is after (or at most it),
// and the caller just waits again.
func (c *Client) Wait(ctx context.Context, after int64) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.WaitTimeout)
	defer cancel()
	var out waitResponse
	if err := c.callCtx(ctx, http.MethodGet, "/wait?after="+strconv.FormatInt(after, 10), nil, &out); err != nil {
		return 0, fmt.Errorf("wait for revision above %d: %w", after, err)
	}
	return out.Revision, nil
}

// ReportServer implements Control.
func (c *Client) ReportServer(ctx context.Context, hostID string, r ServerReport) error {
	if err := c.call(ctx, http.MethodPost, "/hosts/"+url.PathEscape(hostID)+"/servers/report", r, nil); err != nil {
		return fmt.Errorf("report server %s: %w", r.ServerID, err)
	}
	return nil
}

// ReportPorts implements Control.
func (c *Client) ReportPorts(ctx context.Context, hostID string, ports []PortReport) error {
	if ports == nil {
		ports = []PortReport{}
	}
	if err := c.call(ctx, http.MethodPost, "/hosts/"+url.PathEscape(hostID)+"/ports/report", portsReport{Ports: ports}, nil); err != nil {
		return fmt.Errorf("report %d ports: %w", len(ports), err)
	}
	return nil
}

// ReportVolume implements Control.
func (c *Client) ReportVolume(ctx context.Context, hostID string, r VolumeReport) error {
	if err := c.call(ctx, http.MethodPost, "/hosts/"+url.PathEscape(hostID)+"/volumes/report", r, nil); err != nil {
		return fmt.Errorf("report volume %s of server %s: %w", r.VolumeID, r.ServerID, err)
	}
	return nil
}

// ReportConsole implements Control.
func (c *Client) ReportConsole(ctx context.Context, hostID string, r ConsoleReport) error {
	if err := c.call(ctx, http.MethodPost, "/hosts/"+url.PathEscape(hostID)+"/consoles/report", r, nil); err != nil {
		return fmt.Errorf("report console %s: %w", r.ID, err)
	}
	return nil
}

// Tunnel implements Control: a POST that upgrades to a raw byte stream
// (the response's body is the stream).
func (c *Client) Tunnel(ctx context.Context, hostID, tunnelID string) (io.ReadWriteCloser, error) {
	ctx, cancel := context.WithTimeout(ctx, c.CallTimeout)
	defer cancel()
	var stream io.ReadWriteCloser
	for attempt := 0; attempt < 2 && stream == nil; attempt++ {
		req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost,
			c.base+"/hosts/"+url.PathEscape(hostID)+"/tunnels/"+url.PathEscape(tunnelID), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", TunnelProtocol)
		tok, err := c.authorize(ctx, req)
		if err != nil {
			return nil, err
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("tunnel %s: %w", tunnelID, err)
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			rwc, ok := resp.Body.(io.ReadWriteCloser)
			if !ok {
				resp.Body.Close()
				return nil, fmt.Errorf("tunnel %s: the upgraded connection is not writable", tunnelID)
			}
			stream = rwc
			break
		}
		err = readError(resp)
		if resp.StatusCode != http.StatusUnauthorized || c.tokens == nil {
			return nil, fmt.Errorf("tunnel %s: %w", tunnelID, err)
		}
		c.tokens.Invalidate(tok)
	}
	if stream == nil {
		return nil, fmt.Errorf("tunnel %s: %w", tunnelID, ErrUnauthorized)
	}
	return stream, nil
}

// Metadata implements Control.
func (c *Client) Metadata(ctx context.Context, q MetadataQuery) (*Metadata, error) {
	var md Metadata
	if err := c.call(ctx, http.MethodPost, "/metadata", q, &md); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return &md, nil
}

// Image implements Control: the body streams from the server; closing it
// ends the transfer. A transfer cut short reads as io.ErrUnexpectedEOF.
func (c *Client) Image(ctx context.Context, imageID string) (io.ReadCloser, *ImageInfo, error) {
	path := "/images/" + url.PathEscape(imageID)
	resp, err := c.do(ctx, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("image %s: %w", imageID, err)
	}
	h := resp.Header
	info := &ImageInfo{ID: h.Get(headerImageID), DiskFormat: h.Get(headerDiskFormat), Checksum: h.Get(headerChecksum), Size: resp.ContentLength}
	if info.ID == "" {
		info.ID = imageID
	}
	if s := h.Get(headerImageSize); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			info.Size = n
		}
	}
	if info.Size < 0 {
		info.Size = 0
	}
	return resp.Body, info, nil
}

// UploadImage implements Control. size must be the exact byte count of r.
func (c *Client) UploadImage(ctx context.Context, imageID string, r io.Reader, size int64) error {
	if size < 0 {
		return fmt.Errorf("upload image %s: the size must be known", imageID)
	}
	path := "/images/" + url.PathEscape(imageID)
	seeker, _ := r.(io.Seeker)
	var start int64
	if seeker != nil {
		var err error
		if start, err = seeker.Seek(0, io.SeekCurrent); err != nil {
			seeker = nil
		}
	}
	attempt := 0
	build := func(ctx context.Context) (*http.Request, error) {
		attempt++
		if attempt > 1 {
			if seeker == nil {
				return nil, errNoReplay
			}
			if _, err := seeker.Seek(start, io.SeekStart); err != nil {
				return nil, err
			}
		}
		var body io.Reader = http.NoBody
		if size > 0 {
			// Hide other interfaces (WriterTo, Seeker) from the transport
			// so it streams exactly what it is told.
			body = io.LimitReader(r, size)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.base+path, body)
		if err != nil {
			return nil, err
		}
		req.ContentLength = size
		req.Header.Set("Content-Type", "application/octet-stream")
		return req, nil
	}
	resp, err := c.do(ctx, build)
	if err != nil {
		return fmt.Errorf("upload image %s: %w", imageID, err)
	}
	drain(resp)
	return nil
}

// errNoReplay ends the retry of a body that cannot be read again.
var errNoReplay = errors.New("hostapi: body cannot be replayed")

// call is a JSON call bounded by CallTimeout.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.CallTimeout)
	defer cancel()
	return c.callCtx(ctx, method, path, in, out)
}

func (c *Client) callCtx(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	resp, err := c.do(ctx, func(ctx context.Context) (*http.Request, error) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
		if err != nil {
			return nil, err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return err
	}
	defer drain(resp)
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// do sends the request build makes, with a token, and returns a 2xx
// response (the caller closes its body) or an error; after a 401 it
// invalidates the token and tries once more.
func (c *Client) do(ctx context.Context, build func(context.Context) (*http.Request, error)) (*http.Response, error) {
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		req, err := build(ctx)
		if errors.Is(err, errNoReplay) {
			return nil, lastErr
		}
		if err != nil {
			return nil, err
		}
		tok, err := c.authorize(ctx, req)
		if err != nil {
			return nil, err
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, nil
		}
		lastErr = readError(resp)
		if resp.StatusCode != http.StatusUnauthorized || c.tokens == nil {
			break
		}
		c.tokens.Invalidate(tok)
	}
	return nil, lastErr
}

// authorize sets req's X-Auth-Token (a token from c.tokens, if any) and
// User-Agent, and returns the token sent.
func (c *Client) authorize(ctx context.Context, req *http.Request) (string, error) {
	tok := ""
	if c.tokens != nil {
		var err error
		if tok, err = c.tokens.Token(ctx); err != nil {
			return "", fmt.Errorf("get token: %w", err)
		}
	}
	if tok != "" {
		req.Header.Set("X-Auth-Token", tok)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	return tok, nil
}

// readError turns a non-2xx response into a *StatusError and closes it.
func readError(resp *http.Response) error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := strings.TrimSpace(string(b))
	var eb errorBody
	if json.Unmarshal(b, &eb) == nil && eb.Error != "" {
		msg = eb.Error
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &StatusError{Status: resp.StatusCode, Message: msg}
}

// drain reads what is left of a small body so the connection is reused.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // best effort
	resp.Body.Close()
}
