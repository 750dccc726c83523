// Command now prints time.Now, so that scripts/clockshift.sh can show the
// date its tests see.
package main

import (
	"fmt"
	"time"
)

func main() { fmt.Println(time.Now().UTC().Format(time.RFC3339)) }
