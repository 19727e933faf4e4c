module github.com/parsec-go/parsec

go 1.22

require (
	github.com/google/go-tpm v0.9.8
	github.com/pelletier/go-toml/v2 v2.4.3
	golang.org/x/sys v0.30.0
	google.golang.org/protobuf v1.36.6
)

require github.com/miekg/pkcs11 v1.1.2
