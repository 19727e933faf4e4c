package client_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/parsec-go/parsec/client"
	"github.com/parsec-go/parsec/psa"
	"github.com/parsec-go/parsec/wire"
)

// These examples need a running Parsec service, so they are compiled but
// not run; client_test.go runs the same calls against real services.

// Sign a hash with a new P-256 key.
func Example() {
	ctx := context.Background()
	c, err := client.New(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := c.GenerateKey(ctx, "my-key", client.ECCP256SigningKey()); err != nil {
		log.Fatal(err)
	}
	digest := sha256.Sum256([]byte("hello"))
	sig, err := c.SignHash(ctx, "my-key", psa.ECDSA(psa.AlgSHA256), digest[:])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("r||s: %x\n", sig)
}

// Check for a Parsec status with errors.Is.
func ExampleClient_DestroyKey() {
	ctx := context.Background()
	c, err := client.New(ctx)
	if err != nil {
		log.Fatal(err)
	}
	err = c.DestroyKey(ctx, "no-such-key")
	if errors.Is(err, wire.StatusPsaErrorDoesNotExist) {
		fmt.Println("there was no such key")
	}
}

// Write a certificate signing request signed by a key kept in Parsec.
func ExampleClient_Signer() {
	ctx := context.Background()
	c, err := client.New(ctx)
	if err != nil {
		log.Fatal(err)
	}
	signer, err := c.Signer(ctx, "my-key")
	if err != nil {
		log.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(nil, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "device-42"},
		DNSNames: []string{"device-42.example"},
	}, signer)
	if err != nil {
		log.Fatal(err)
	}
	pem.Encode(os.Stdout, &pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// Talk to a service on another socket, as another provider, with a bound.
func ExampleNew_options() {
	ctx := context.Background()
	c, err := client.New(ctx,
		client.WithEndpoint("unix:/tmp/parsec/parsec.sock"),
		client.WithProvider(wire.ProviderTpm),
		client.WithTimeout(5e9),
	)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := c.ListKeys(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, k := range keys {
		fmt.Println(k.Name, k.Attributes.Type, k.Attributes.Alg)
	}
}

// List the providers without authenticating.
func ExampleNewNaked() {
	ctx := context.Background()
	c, err := client.NewNaked()
	if err != nil {
		log.Fatal(err)
	}
	provs, err := c.ListProviders(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range provs {
		fmt.Printf("%d %v %s\n", p.ID, p.ID, p.Version)
	}
}

// Make an exportable key by adjusting a template.
func ExampleAESGCMKey() {
	attrs := client.AESGCMKey(256)
	attrs.Usage |= psa.UsageExport
	fmt.Println(attrs.Type, attrs.Bits, attrs.Alg == psa.AlgGCM, attrs.Usage&psa.UsageExport != 0)
	// Output: AES 256 true true
}
