// Command protoc-gen-go-parsec is a protoc plugin that generates Go code for
// proto3 messages needing nothing at run time but the standard library and
// the small wire/protomsg package: none of google.golang.org/protobuf.
//
// The generated types carry protoc-gen-go's public names (message structs,
// Outer_Inner nesting, fields, GetX getters, oneof interfaces and wrappers,
// enum types, constants, _name/_value maps, String and Enum), so code
// written against protoc-gen-go output keeps compiling. What they do not
// carry is protobuf-go's runtime: no descriptors, no registration at init,
// no protoimpl state (and not even protowire, whose errors package hashes
// the executable at start-up). Each message instead gets ProtoSize,
// MarshalAppend, Unmarshal and Reset (the protomsg.Message interface), whose
// encoding is byte-identical to proto.Marshal and whose decoding follows
// proto.Unmarshal; wire/pb and ts/pb test that against protoc-gen-go output.
//
// Only what the Parsec protocols need is supported: proto3 syntax, scalar,
// enum, string, bytes and message fields, repeated fields and oneofs, with
// message fields referring to messages of the same Go package. Maps, proto2,
// editions, proto3 optional and extensions are refused with an error rather
// than generated wrongly.
//
// Parameters (--go-parsec_opt):
//
//	runtime=IMPORTPATH  the protomsg package (default
//	                    github.com/parsec-go/parsec/wire/protomsg)
//	test_table=true     also write messages.pb_test.go listing every
//	                    message and oneof wrapper type, for the
//	                    differential tests
package main

import (
	"flag"
	"fmt"

	"google.golang.org/protobuf/compiler/protogen"
)

func main() {
	var flags flag.FlagSet
	runtime := flags.String("runtime", "github.com/parsec-go/parsec/wire/protomsg", "import path of the protomsg run-time package")
	testTable := flags.Bool("test_table", false, "write messages.pb_test.go listing the generated types")
	protogen.Options{ParamFunc: flags.Set}.Run(func(gen *protogen.Plugin) error {
		g := &generator{runtime: protogen.GoImportPath(*runtime)}
		tables := map[protogen.GoImportPath]*table{}
		var order []protogen.GoImportPath
		for _, f := range gen.Files {
			if !f.Generate {
				continue
			}
			if err := g.file(gen, f); err != nil {
				return fmt.Errorf("%s: %w", f.Desc.Path(), err)
			}
			if *testTable {
				t := tables[f.GoImportPath]
				if t == nil {
					t = &table{dir: dirOf(f.GeneratedFilenamePrefix), pkg: f.GoPackageName, path: f.GoImportPath}
					tables[f.GoImportPath] = t
					order = append(order, f.GoImportPath)
				}
				t.add(f.Messages)
			}
		}
		for _, p := range order {
			tables[p].write(gen)
		}
		return nil
	})
}
