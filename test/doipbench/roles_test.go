package doipbench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"testing"
	"time"
)

// The raw pair moves exactly the bytes of one `doip send 3E00` exchange: the 14-byte request
// frame (8 header, 4 addresses, 3E 00) one way, the 13-byte diagnostic ACK and the 14-byte
// response frame (7E 00) back in one write, as the simulator corks them.
const (
	requestLen = 8 + 4 + 2
	answerLen  = 8 + 5 + 8 + 4 + 2
)

// envRole makes the test binary run one side of the raw pair instead of the tests: the
// benchmark starts it as a process of its own.
const (
	envRole  = "DOIPBENCH_ROLE"  // echo-server or echo-client
	envAddr  = "DOIPBENCH_ADDR"  // the echo server's address, for the client
	envCount = "DOIPBENCH_COUNT" // the client's number of exchanges
)

func TestMain(m *testing.M) {
	if cpus, ok := os.LookupEnv(envCPUs); ok {
		exitOn(launch(cpus, os.Args[1:]))
	}
	switch os.Getenv(envRole) {
	case "":
		os.Exit(m.Run())
	case "echo-server":
		exitOn(echoServer())
	case "echo-client":
		exitOn(echoClient())
	default:
		exitOn(fmt.Errorf("%s=%q: want echo-server or echo-client", envRole, os.Getenv(envRole)))
	}
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// echoServer listens on a free port, prints its address, and answers each request of each
// connection with answerLen bytes until the connection ends.
func echoServer() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(l.Addr().String())
	for {
		conn, err := l.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer conn.Close()
			req, answer := make([]byte, requestLen), make([]byte, answerLen)
			for {
				if _, err := io.ReadFull(conn, req); err != nil {
					return
				}
				if _, err := conn.Write(answer); err != nil {
					return
				}
			}
		}()
	}
}

// rawResult is what the echo client prints: the figures `doip send -o json` prints too.
type rawResult struct {
	Count     int     `json:"count"`
	ElapsedMS float64 `json:"elapsedMillis"`
}

// echoClient connects, then times count stop-and-wait exchanges, as `doip send --count` times
// its loop after routing activation.
func echoClient() error {
	count, err := strconv.Atoi(os.Getenv(envCount))
	if err != nil {
		return fmt.Errorf("%s: %w", envCount, err)
	}
	conn, err := net.Dial("tcp", os.Getenv(envAddr))
	if err != nil {
		return err
	}
	defer conn.Close()
	req, answer := make([]byte, requestLen), make([]byte, answerLen)
	start := time.Now()
	for range count {
		if _, err := conn.Write(req); err != nil {
			return err
		}
		if _, err := io.ReadFull(conn, answer); err != nil {
			return err
		}
	}
	elapsed := time.Since(start)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	return json.NewEncoder(w).Encode(rawResult{Count: count, ElapsedMS: float64(elapsed.Nanoseconds()) / 1e6})
}
