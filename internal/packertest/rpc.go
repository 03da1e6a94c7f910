package packertest

import (
	"net"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	packerrpc "github.com/hashicorp/packer-plugin-sdk/rpc"
)

// ArtifactOverRPC serves an artifact through the SDK's RPC and returns the
// client's view of it: what Packer core and other plugins' post-processors
// see from a plugin process (State values arrive msgpack-decoded).
func ArtifactOverRPC(t *testing.T, a packersdk.Artifact) packersdk.Artifact {
	t.Helper()
	serverConn, clientConn := net.Pipe()
	server, err := packerrpc.NewServer(serverConn)
	if err != nil {
		t.Fatal(err)
	}
	server.RegisterArtifact(a)
	go server.Serve()
	client, err := packerrpc.NewClient(clientConn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client.Artifact()
}
