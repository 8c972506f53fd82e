#!/usr/bin/env node
import "../dist/authsome.mjs"
