#!/bin/sh
# hello: the program the example releases. Deliberately tiny: the point is the build around it.
name="${1:-world}"
printf 'Hello, %s!\n' "$name"
