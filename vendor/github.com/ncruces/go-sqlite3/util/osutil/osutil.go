// Package osutil implements operating system utilities.
package osutil
