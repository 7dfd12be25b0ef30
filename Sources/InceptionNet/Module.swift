// InceptionNet module
