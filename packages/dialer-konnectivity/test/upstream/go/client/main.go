// Command konnectivity-test-client is spoke's interop probe: it opens one
// connection through a Konnectivity proxy-server the way kube-apiserver does
// (gRPC mode through upstream's konnectivity-client library, or HTTP-CONNECT)
// and then relays stdin to the connection and the connection to stdout, like
// netcat. It prints "CONNECTED" on stderr once the tunnel is up, and
// "DIAL_ERROR: <text>" plus exit code 3 when the dial fails.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"sigs.k8s.io/apiserver-network-proxy/konnectivity-client/pkg/client"
)

func main() {
	mode := flag.String("mode", "grpc", "grpc or http-connect")
	uds := flag.String("uds", "", "proxy-server unix socket")
	addr := flag.String("addr", "", "proxy-server host:port (http-connect over mTLS)")
	ca := flag.String("ca", "", "CA bundle for the proxy-server certificate")
	cert := flag.String("cert", "", "client certificate")
	key := flag.String("key", "", "client key")
	target := flag.String("target", "", "destination host:port")
	timeout := flag.Duration("timeout", 20*time.Second, "dial timeout")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	var conn net.Conn
	var err error
	switch *mode {
	case "grpc":
		conn, err = dialGrpc(ctx, *uds, *target)
	case "http-connect":
		conn, err = dialConnect(ctx, *uds, *addr, *ca, *cert, *key, *target)
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "DIAL_ERROR: %v\n", err)
		os.Exit(3)
	}
	fmt.Fprintln(os.Stderr, "CONNECTED")

	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(os.Stdout, conn)
		close(done)
	}()
	_, _ = io.Copy(conn, os.Stdin)
	// Konnectivity has no half-close: after stdin ends, keep reading until the
	// far side closes (the caller closes it or kills us).
	<-done
	_ = conn.Close()
}

func dialGrpc(ctx context.Context, uds, target string) (net.Conn, error) {
	dialer := func(ctx context.Context, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", uds)
	}
	tunnel, err := client.CreateSingleUseGrpcTunnelWithContext(ctx, context.Background(), "passthrough:///"+uds,
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithContextDialer(dialer))
	if err != nil {
		return nil, err
	}
	return tunnel.DialContext(ctx, "tcp", target)
}

func dialConnect(ctx context.Context, uds, addr, ca, cert, key, target string) (net.Conn, error) {
	var d net.Dialer
	var conn net.Conn
	var err error
	if uds != "" {
		conn, err = d.DialContext(ctx, "unix", uds)
	} else {
		cfg, cerr := tlsConfig(ca, cert, key, addr)
		if cerr != nil {
			return nil, cerr
		}
		conn, err = (&tls.Dialer{NetDialer: &d, Config: cfg}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		conn.Close()
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		conn.Close()
		return nil, fmt.Errorf("%s: %s", res.Status, body)
	}
	return &bufferedConn{Conn: conn, r: br}, nil
}

func tlsConfig(ca, cert, key, addr string) (*tls.Config, error) {
	pem, err := os.ReadFile(ca)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, ServerName: host}, nil
}

// bufferedConn keeps bytes the response reader already pulled off the socket.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
