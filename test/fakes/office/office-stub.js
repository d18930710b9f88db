/*
 * A stub Office host of our own: what the task pane uses of office.js, served by a playwright route in place of
 * https://appsforoffice.microsoft.com/lib/1/hosted/office.js. Plain browser JavaScript because the browser runs it
 * as is. The test drives it through window.__officeStub (see ./host.ts):
 *   configure before load: window.__officeStubConfig = { item, sets: { Mailbox: '1.5', NestedAppAuth?: '1.1' }, naa?: 'fails' }
 *   selectItem(fixture | null)  switch the selected email and fire ItemChanged, as a pinned pane sees it
 *   dialogs                     every URL displayDialogAsync opened
 *   refusedModals               every window.alert/confirm/prompt the page tried (each also throws, as Office refuses them)
 * The dialog API: when the test exposes window.__officeStubDialogAnswer(url) → message, the stub delivers that
 * message as the dialog's DialogMessageReceived (the test plays the sign-in page); otherwise it opens the URL
 * in a real window whose own stub relays Office.context.ui.messageParent back through postMessage.
 */
(function () {
  var config = window.__officeStubConfig || {};
  var sets = config.sets || { Mailbox: '1.5' };
  var EventType = {
    ItemChanged: 'olkItemSelectedChanged',
    DialogMessageReceived: 'dialogMessageReceived',
    DialogEventReceived: 'dialogEventReceived',
  };
  var AsyncResultStatus = { Succeeded: 'succeeded', Failed: 'failed' };
  var handlers = [];
  var dialogs = [];

  /** A fixture { from: [email, name], to: [[email, name]...], cc, subject, internetMessageId } as a read-mode item. */
  function toItem(f) {
    if (!f) return null;
    var addr = function (pair) {
      return { emailAddress: pair[0], displayName: pair[1] || '', recipientType: 'externalUser' };
    };
    return {
      itemType: 'message',
      itemId: f.itemId || `AAMk${Math.random().toString(36).slice(2)}`,
      from: addr(f.from),
      sender: addr(f.from),
      to: (f.to || []).map(addr),
      cc: (f.cc || []).map(addr),
      subject: f.subject || '',
      internetMessageId: f.internetMessageId || '',
      dateTimeCreated: new Date(),
    };
  }
  var current = toItem(config.item);

  function versionAtLeast(have, want) {
    var a = String(have).split('.').map(Number);
    var b = String(want || '1.1')
      .split('.')
      .map(Number);
    for (var i = 0; i < Math.max(a.length, b.length); i++) {
      if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) > (b[i] || 0);
    }
    return true;
  }

  function ok(value) {
    return { status: AsyncResultStatus.Succeeded, value: value, error: null };
  }

  function dialogFor(url) {
    var listeners = {};
    var win = null;
    var dialog = {
      addEventHandler: function (type, fn) {
        (listeners[type] = listeners[type] || []).push(fn);
      },
      close: function () {
        if (win && !win.closed) win.close();
        window.removeEventListener('message', relay);
      },
      messageChild: function () {},
    };
    function emit(type, arg) {
      (listeners[type] || []).forEach(function (fn) {
        fn(arg);
      });
    }
    function relay(ev) {
      if (ev.origin !== location.origin || !ev.data || ev.data.__officeStubDialog !== true) return;
      emit(EventType.DialogMessageReceived, { type: EventType.DialogMessageReceived, message: ev.data.message, origin: ev.origin });
    }
    dialog.start = function () {
      if (typeof window.__officeStubDialogAnswer === 'function') {
        Promise.resolve(window.__officeStubDialogAnswer(url)).then(function (message) {
          if (message === null) emit(EventType.DialogEventReceived, { type: EventType.DialogEventReceived, error: 12006 });
          else emit(EventType.DialogMessageReceived, { type: EventType.DialogMessageReceived, message: message, origin: location.origin });
        });
        return;
      }
      window.addEventListener('message', relay);
      win = window.open(url, 'office-dialog', 'width=480,height=640');
    };
    return dialog;
  }

  var Office = {
    HostType: { Outlook: 'Outlook' },
    PlatformType: { OfficeOnline: 'OfficeOnline' },
    EventType: EventType,
    AsyncResultStatus: AsyncResultStatus,
    MailboxEnums: { ItemType: { Message: 'message', Appointment: 'appointment' } },
    onReady: function (cb) {
      var info = { host: 'Outlook', platform: 'OfficeOnline' };
      // office.js calls back asynchronously, after the page's scripts ran.
      return new Promise(function (resolve) {
        setTimeout(function () {
          if (cb) cb(info);
          resolve(info);
        }, 0);
      });
    },
    context: {
      requirements: {
        isSetSupported: function (name, minVersion) {
          return Object.hasOwn(sets, name) && versionAtLeast(sets[name], minVersion);
        },
      },
      mailbox: {
        get item() {
          return current;
        },
        userProfile: { emailAddress: config.userEmail || 'rita@contoso-labs.test', displayName: 'Rita Rep' },
        addHandlerAsync: function (type, handler, options, callback) {
          var cb = typeof options === 'function' ? options : callback;
          if (type === EventType.ItemChanged) handlers.push(handler);
          if (cb)
            setTimeout(function () {
              cb(ok(undefined));
            }, 0);
        },
      },
      ui: {
        displayDialogAsync: function (url, options, callback) {
          var cb = typeof options === 'function' ? options : callback;
          dialogs.push(url);
          var dialog = dialogFor(url);
          setTimeout(function () {
            if (cb) cb(ok(dialog));
            dialog.start();
          }, 0);
        },
        messageParent: function (message) {
          var target = window.opener || window.parent;
          target.postMessage({ __officeStubDialog: true, message: message }, location.origin);
        },
        openBrowserWindow: function (url) {
          window.open(url, '_blank', 'noopener');
        },
      },
    },
  };

  // Nested app authentication that the host advertises but cannot complete (classic Outlook without the broker):
  // config.naa === 'fails' installs a bridge (the window.nestedAppAuthBridge MSAL talks to) that starts, then
  // refuses every token request. Every method MSAL asked for is recorded.
  var naaRequests = [];
  if (config.naa === 'fails') {
    var naaListeners = [];
    window.nestedAppAuthBridge = {
      addEventListener: function (type, fn) {
        if (type === 'message') naaListeners.push(fn);
      },
      removeEventListener: function (_type, fn) {
        naaListeners = naaListeners.filter(function (l) {
          return l !== fn;
        });
      },
      postMessage: function (text) {
        var req = JSON.parse(text);
        naaRequests.push(req.method);
        var res =
          req.method === 'GetInitContext'
            ? { messageType: 'NestedAppAuthResponse', requestId: req.requestId, success: true, initContext: { sdkName: 'office-stub', sdkVersion: '1.0' } }
            : {
                messageType: 'NestedAppAuthResponse',
                requestId: req.requestId,
                success: false,
                error: { status: 'PERSISTENT_ERROR', code: 'broker_unavailable', description: 'The host could not get a token.' },
              };
        setTimeout(function () {
          naaListeners.forEach(function (fn) {
            fn(JSON.stringify(res));
          });
        }, 0);
      },
    };
  }

  // Office add-ins may not use the browser's modal dialogs: desktop hosts never show them
  // (https://learn.microsoft.com/office/dev/add-ins/develop/dialog-best-practices). The stub refuses them the same way,
  // loudly, so a pane that relies on one fails its test instead of passing in a browser that would show it.
  var refused = [];
  ['alert', 'confirm', 'prompt'].forEach(function (name) {
    window[name] = function () {
      refused.push(name);
      throw new Error(`window.${name} is not available in an Office add-in`);
    };
  });

  window.Office = Office;
  window.__officeStub = {
    dialogs: dialogs,
    refusedModals: refused,
    naaRequests: naaRequests,
    handlerCount: function () {
      return handlers.length;
    },
    /** Outlook replaces `item` and then fires ItemChanged on the mailbox, asynchronously. */
    selectItem: function (fixture) {
      current = toItem(fixture);
      setTimeout(function () {
        handlers.forEach(function (h) {
          h({ type: EventType.ItemChanged });
        });
      }, 0);
    },
  };
})();
