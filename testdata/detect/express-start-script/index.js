// Old entry, no longer used.
// const express = require('express');
module.exports = {};
