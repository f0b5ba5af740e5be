from django.urls import path, re_path

from . import views

urlpatterns = [
    re_path(r"^$", views.post_list, name="post_list"),
    re_path(r"^post/(?P<pk>[0-9]+)/$", views.post_detail, name="post_detail"),
    re_path(r"^post/(?P<pk>\d+)/edit/$", views.post_edit, name="post_edit"),
    re_path(r"^archive/(?P<year>[0-9]{4})/(?P<month>[0-9]{2})/$", views.archive, name="archive"),
    re_path(r"^tag/(?P<tag>[-\w]+)/feed\.xml$", views.tag_feed, name="tag_feed"),
    re_path(r"^search/(.+)/$", views.search, name="search"),
    re_path(r"^drafts/?$", views.drafts, name="drafts"),
    path("post/new/", views.post_new, name="post_new"),
]
