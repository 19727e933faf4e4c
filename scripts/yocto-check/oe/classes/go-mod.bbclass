# Model of oe-core's go-mod.bbclass: module mode, compile in the module.
GOBUILDFLAGS:append = " -modcacherw"
inherit go
GO_WORKDIR ?= "${GO_IMPORT}"
