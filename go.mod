module github.com/parsec-go/parsec

go 1.22

require (
	github.com/google/go-tpm v0.9.8
	github.com/pelletier/go-toml/v2 v2.4.3
	golang.org/x/sys v0.30.0
	google.golang.org/protobuf v1.36.6
)

require (
	github.com/miekg/pkcs11 v1.1.2
	github.com/ncruces/go-sqlite3 v0.22.0
	github.com/spiffe/go-spiffe/v2 v2.4.0
	github.com/tetratelabs/wazero v1.8.2
	golang.org/x/crypto v0.33.0
)

require (
	github.com/Microsoft/go-winio v0.6.2 // indirect
	github.com/go-jose/go-jose/v4 v4.0.5 // indirect
	github.com/ncruces/julianday v1.0.0 // indirect
	github.com/zeebo/errs v1.3.0 // indirect
	golang.org/x/net v0.28.0 // indirect
	golang.org/x/text v0.22.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20240814211410-ddb44dafa142 // indirect
	google.golang.org/grpc v1.67.3 // indirect
)
