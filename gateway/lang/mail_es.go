package lang

var mailES = catalog{}
