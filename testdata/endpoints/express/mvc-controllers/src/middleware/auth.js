exports.protect = (req, res, next) => next();
