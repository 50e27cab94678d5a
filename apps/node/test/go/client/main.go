// kubelet-test-client drives apps/node's kubelet endpoints with client-go's
// own streaming clients (remotecommand's SPDY and WebSocket executors,
// portforward over spdy.RoundTripperFor), so the tests talk to the node the
// way kube-apiserver and kubectl do. Each subcommand prints one JSON object.
//
//	kubelet-test-client exec        -url URL -ca F -cert F -key F [-transport spdy|websocket] [-protocols a,b] [-stdin TEXT] [-stdout] [-stderr] [-tty -resize WxH] [-until TEXT]
//	kubelet-test-client partial     -url URL -ca F -cert F -key F -protocol P [-headers k=v,k=v]   (opens one stream only)
//	kubelet-test-client portforward -url URL -ca F -cert F -key F -port N [-transport spdy|websocket] [-requests N] [-request TEXT]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/httpstream"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/client-go/util/exec"
)

// handled collects what client-go reports through utilruntime.HandleError:
// that is where its port-forward puts errors read from the error stream.
var (
	handledMu sync.Mutex
	handled   = []string{}
)

func init() {
	utilruntime.ErrorHandlers = []utilruntime.ErrorHandler{
		func(_ context.Context, err error, msg string, _ ...interface{}) {
			handledMu.Lock()
			defer handledMu.Unlock()
			text := msg
			if err != nil {
				text = strings.TrimSpace(msg + " " + err.Error())
			}
			handled = append(handled, text)
		},
	}
}

type common struct {
	url, ca, cert, key, transport string
	timeout                       time.Duration
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.url, "url", "", "full kubelet URL")
	fs.StringVar(&c.ca, "ca", "", "CA file for the node's serving certificate")
	fs.StringVar(&c.cert, "cert", "", "client certificate file")
	fs.StringVar(&c.key, "key", "", "client key file")
	fs.StringVar(&c.transport, "transport", "spdy", "spdy or websocket")
	fs.DurationVar(&c.timeout, "timeout", 20*time.Second, "overall bound")
}

// parse registers the common flags and the subcommand's own (define), then parses args.
func (c *common) parse(name string, args []string, define func(fs *flag.FlagSet)) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	c.register(fs)
	define(fs)
	_ = fs.Parse(args)
}

// spdyTransport is client-go's SPDY round tripper and upgrader for the config.
func spdyTransport(cfg *rest.Config) (http.RoundTripper, spdy.Upgrader) {
	rt, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		fail(err)
	}
	return rt, upgrader
}

func (c *common) config() (*rest.Config, *url.URL) {
	u, err := url.Parse(c.url)
	if err != nil {
		fail(err)
	}
	return &rest.Config{
		Host:            u.Scheme + "://" + u.Host,
		TLSClientConfig: rest.TLSClientConfig{CAFile: c.ca, CertFile: c.cert, KeyFile: c.key},
	}, u
}

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: kubelet-test-client exec|partial|portforward ..."))
	}
	switch os.Args[1] {
	case "exec":
		runExec(os.Args[2:])
	case "partial":
		runPartial(os.Args[2:])
	case "portforward":
		runPortForward(os.Args[2:])
	default:
		fail(fmt.Errorf("unknown subcommand %q", os.Args[1]))
	}
}

func emit(v any) {
	handledMu.Lock()
	defer handledMu.Unlock()
	if err := json.NewEncoder(os.Stdout).Encode(v); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kubelet-test-client:", err)
	os.Exit(2)
}

// sizeQueue hands out the requested sizes, then reports (sent) that the last
// one was written to the resize stream: remotecommand asks for the next size
// only after encoding the previous one.
type sizeQueue struct {
	sizes []remotecommand.TerminalSize
	sent  chan struct{}
	done  <-chan struct{}
	once  sync.Once
}

func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	if len(q.sizes) > 0 {
		s := q.sizes[0]
		q.sizes = q.sizes[1:]
		return &s
	}
	q.once.Do(func() { close(q.sent) })
	<-q.done
	return nil
}

// gatedReader returns its text only after gate closes, so stdin reaches the
// node after the resizes (same connection, so the node sees them in order).
type gatedReader struct {
	gate <-chan struct{}
	r    io.Reader
}

func (g *gatedReader) Read(p []byte) (int, error) {
	<-g.gate
	return g.r.Read(p)
}

// watchWriter records output and cancels once it contains `until`.
type watchWriter struct {
	mu     sync.Mutex
	buf    strings.Builder
	until  string
	cancel context.CancelFunc
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.until != "" && strings.Contains(w.buf.String(), w.until) {
		w.cancel()
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func runExec(args []string) {
	var c common
	var protocols, stdin, resize, until string
	var hasStdin, stdout, stderr, tty bool
	c.parse("exec", args, func(fs *flag.FlagSet) {
		fs.StringVar(&protocols, "protocols", "", "protocols to offer, comma-separated (default: client-go's, v5 first)")
		fs.StringVar(&stdin, "stdin", "", "text for stdin (stdin is sent when -has-stdin or this is set)")
		fs.BoolVar(&hasStdin, "has-stdin", false, "open stdin even if -stdin is empty")
		fs.BoolVar(&stdout, "stdout", true, "ask for stdout")
		fs.BoolVar(&stderr, "stderr", false, "ask for stderr")
		fs.BoolVar(&tty, "tty", false, "ask for a terminal")
		fs.StringVar(&resize, "resize", "", "WxH sent on the resize stream before stdin")
		fs.StringVar(&until, "until", "", "detach (cancel) once stdout contains this")
	})
	cfg, u := c.config()

	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	streamCtx, detach := context.WithCancel(ctx)
	defer detach()

	var executor remotecommand.Executor
	var err error
	switch {
	case c.transport == "websocket" && protocols != "":
		executor, err = remotecommand.NewWebSocketExecutorForProtocols(cfg, "GET", u.String(), strings.Split(protocols, ",")...)
	case c.transport == "websocket":
		executor, err = remotecommand.NewWebSocketExecutor(cfg, "GET", u.String())
	default:
		rt, upgrader := spdyTransport(cfg)
		if protocols == "" {
			executor, err = remotecommand.NewSPDYExecutorForTransports(rt, upgrader, "POST", u)
		} else {
			executor, err = remotecommand.NewSPDYExecutorForProtocols(rt, upgrader, "POST", u, strings.Split(protocols, ",")...)
		}
	}
	if err != nil {
		fail(err)
	}

	out := &watchWriter{until: until, cancel: detach}
	errOut := &watchWriter{cancel: detach}
	opts := remotecommand.StreamOptions{Tty: tty}
	if stdout {
		opts.Stdout = out
	}
	if stderr {
		opts.Stderr = errOut
	}
	gate := make(chan struct{})
	if resize != "" {
		var w, h uint16
		if _, err := fmt.Sscanf(resize, "%dx%d", &w, &h); err != nil {
			fail(err)
		}
		opts.TerminalSizeQueue = &sizeQueue{sizes: []remotecommand.TerminalSize{{Width: w, Height: h}}, sent: gate, done: streamCtx.Done()}
	} else {
		close(gate)
	}
	if hasStdin || stdin != "" {
		opts.Stdin = &gatedReader{gate: gate, r: strings.NewReader(stdin)}
	}

	started := time.Now()
	err = executor.StreamWithContext(streamCtx, opts)
	result := map[string]any{"stdout": out.String(), "stderr": errOut.String(), "exitCode": 0, "ms": time.Since(started).Milliseconds()}
	var exitErr exec.CodeExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		result["exitCode"] = exitErr.Code
		result["error"] = err.Error()
	case errors.Is(err, context.Canceled) && until != "":
		result["detached"] = true
	default:
		result["exitCode"] = -1
		result["error"] = err.Error()
	}
	emit(result)
}

// runPartial negotiates like client-go's executors and port-forward but opens
// only one stream (its headers given as k=v,k=v), then reports what the node
// writes there before closing it, and how long that took.
func runPartial(args []string) {
	var c common
	var protocol, headerList string
	c.parse("partial", args, func(fs *flag.FlagSet) {
		fs.StringVar(&protocol, "protocol", "v4.channel.k8s.io", "protocol to offer")
		fs.StringVar(&headerList, "headers", "streamType=error", "the stream's headers, k=v,k=v")
	})
	cfg, u := c.config()
	rt, upgrader := spdyTransport(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", u.String(), nil)
	if err != nil {
		fail(err)
	}
	conn, negotiated, err := spdy.Negotiate(upgrader, &http.Client{Transport: rt}, req, protocol)
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	headers := http.Header{}
	for _, kv := range strings.Split(headerList, ",") {
		k, v, _ := strings.Cut(kv, "=")
		headers.Set(k, v)
	}
	started := time.Now()
	stream, err := conn.CreateStream(headers)
	if err != nil {
		fail(err)
	}
	message, readErr := io.ReadAll(stream)
	result := map[string]any{"protocol": negotiated, "message": string(message), "ms": time.Since(started).Milliseconds()}
	if readErr != nil {
		result["readError"] = readErr.Error()
	}
	emit(result)
}

func runPortForward(args []string) {
	var c common
	var port, requests int
	var request string
	c.parse("portforward", args, func(fs *flag.FlagSet) {
		fs.IntVar(&port, "port", 0, "remote port")
		fs.IntVar(&requests, "requests", 1, "connections to make, one after the other")
		fs.StringVar(&request, "request", "GET / HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n", "bytes to send on each connection")
	})
	cfg, u := c.config()

	var dialer httpstream.Dialer
	if c.transport == "websocket" {
		d, err := portforward.NewSPDYOverWebsocketDialer(u, cfg)
		if err != nil {
			fail(err)
		}
		dialer = d
	} else {
		rt, upgrader := spdyTransport(cfg)
		dialer = spdy.NewDialer(upgrader, &http.Client{Transport: rt}, "POST", u)
	}
	stop := make(chan struct{})
	ready := make(chan struct{})
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		fail(err)
	}
	forwardErr := make(chan error, 1)
	go func() { forwardErr <- pf.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-forwardErr:
		emit(map[string]any{"forwardError": fmt.Sprint(err), "handled": handled})
		return
	case <-time.After(c.timeout):
		fail(errors.New("port-forward never became ready"))
	}
	ports, err := pf.GetPorts()
	if err != nil {
		fail(err)
	}
	local := fmt.Sprintf("127.0.0.1:%d", ports[0].Local)

	responses := []string{}
	timings := []int64{}
	for i := 0; i < requests; i++ {
		started := time.Now()
		responses = append(responses, exchange(local, request, c.timeout))
		timings = append(timings, time.Since(started).Milliseconds())
	}
	close(stop)
	result := map[string]any{"responses": responses, "ms": timings}
	select {
	case err := <-forwardErr:
		if err != nil {
			result["forwardError"] = err.Error()
		}
	case <-time.After(c.timeout):
		result["forwardError"] = "ForwardPorts did not return after stop"
	}
	result["handled"] = handled
	emit(result)
}

// exchange sends request and reads until EOF. client-go closes the local
// connection only after the error stream ends, so reaching EOF here also
// proves the node closed the error stream of the pair.
func exchange(addr, request string, timeout time.Duration) string {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "dial error: " + err.Error()
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(conn, request); err != nil {
		return "write error: " + err.Error()
	}
	body, err := io.ReadAll(conn)
	if err != nil {
		return string(body) + "\nread error: " + err.Error()
	}
	return string(body)
}
